"""Writes the dummy SigMF recordings of the captured configs' builder test (run once; outputs committed).

  python tfds_builders/spectrum_sensing/dummy_data/make_dummy_data.py
"""

import os

import numpy as np

from specsense_jax.io import sigmf
from specsense_jax.signals import channel, lte, nr

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
  # LTE 1.4 MHz at 1.92 Msps, 45 ms: two frames (the second mostly floor-noise fill).
  wave = lte.lte_waveform(1.4, ncellid=7, seed=1, sample_rate=1.92e6, duration_s=0.045)
  iq = 0.2 * channel.apply_channel(wave.iq, wave.sample_rate, seed=2, model='none', snr_db=20)
  sigmf.write_recording(os.path.join(HERE, 'lte_dummy'), iq, wave.sample_rate, center_frequency=1.8e9,
                        datatype='ci8', annotations=[{'label': 'LTE', 'freq_lower_edge': -0.7e6,
                                                      'freq_upper_edge': 0.7e6, 'sample_start': 0,
                                                      'sample_count': len(iq)}])
  # NR 5 MHz at 15 kHz, 1 MHz above the centre of a 7.68 Msps capture, 8 ms, plus an unknown tone at -3 MHz.
  wave = nr.nr_waveform(5, 15, ncellid=42, seed=3, sample_rate=7.68e6, duration_s=0.008)
  iq = channel.apply_channel(wave.iq, wave.sample_rate, seed=4, model='none', freq_offset_hz=1e6)
  iq += 0.5 * np.exp(2j * np.pi * -3e6 * np.arange(len(iq)) / wave.sample_rate).astype(np.complex64)
  iq = 0.2 * channel.add_awgn(iq, 20, np.random.default_rng(5))
  sigmf.write_recording(os.path.join(HERE, 'nr_dummy'), iq, wave.sample_rate, center_frequency=3.5e9,
                        datatype='ci16_le', annotations=[
                            {'label': 'NR', 'freq_lower_edge': -1.5e6, 'freq_upper_edge': 3.5e6, 'sample_start': 0,
                             'sample_count': len(iq)},
                            {'label': 'beacon', 'freq_lower_edge': -3.1e6, 'freq_upper_edge': -2.9e6,
                             'sample_start': 0, 'sample_count': len(iq) // 2}])


if __name__ == '__main__':
  main()
