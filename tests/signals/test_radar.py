"""Radar pulse trains measured from their samples: chirp bandwidth, PRI, codes, pulse widths and the scan."""

import numpy as np
import pytest

from specsense_jax.signals import radar


def _pulse_starts(w):
  on = np.abs(w.iq) > 0
  return np.flatnonzero(np.diff(on.astype(np.int8)) == 1) + 1


def test_lfm_sweeps_the_drawn_bandwidth_over_the_pulse():
  w = radar.radar_waveform(seed=3, kind='lfm', scan=False)
  ann = w.annotations[1]
  pulse = w.iq[ann['sample_start']:ann['sample_start'] + ann['sample_count']]
  inst_hz = np.angle(pulse[1:] * np.conj(pulse[:-1])) * w.sample_rate / (2 * np.pi)
  middle = slice(len(inst_hz) // 10, len(inst_hz) * 9 // 10)
  slope = np.polyfit(np.arange(len(inst_hz))[middle] / w.sample_rate, inst_hz[middle], 1)[0]
  drawn = w.params['bandwidth_hz']
  np.testing.assert_allclose(abs(slope) * w.params['pulse_width_s'], drawn, rtol=0.01)
  assert np.sign(slope) == w.params['chirp_direction']
  assert abs(inst_hz[len(inst_hz) // 2]) < 0.02 * drawn  # centred on 0 Hz
  assert (ann['freq_lower_edge'], ann['freq_upper_edge']) == (-drawn / 2, drawn / 2)
  assert ann['sample_count'] == round(w.params['pulse_width_s'] * w.sample_rate)
  # the annotated sweep: from where the frequency starts to where it ends (what visible labels cut into cells)
  first, last = ann['specsense:sweep_hz']
  assert (first, last) == (-slope / abs(slope) * drawn / 2, slope / abs(slope) * drawn / 2)
  assert abs(inst_hz[:len(inst_hz) // 20].mean() - (first + (last - first) / 40)) < 0.03 * drawn
  assert ann['specsense:pulse_samples'] == ann['sample_count']  # the pulse whole inside the frame


@pytest.mark.parametrize('seed', [0, 1, 2, 5])
def test_pulse_starts_follow_the_drawn_pris(seed):
  w = radar.radar_waveform(seed=seed, kind='unmodulated', scan=False)
  starts = _pulse_starts(w)
  pris = w.params['pris_s']
  measured = np.diff(starts) / w.sample_rate
  # Each interval is one of the drawn PRIs, cycling through the stagger in order (to one sample's rounding).
  period = len(pris)
  first = int(np.argmin([abs(measured[0] - p) for p in pris]))
  expected = np.array([pris[(first + i) % period] for i in range(len(measured))])
  np.testing.assert_allclose(measured, expected, atol=1.01 / w.sample_rate)
  assert [a['sample_start'] for a in w.annotations if a['sample_start'] > 0] == list(starts)


def test_barker_chips_carry_the_code():
  w = radar.radar_waveform(seed=4, kind='barker', pulse_width_s=13e-6, scan=False)
  ann = w.annotations[1]
  pulse = w.iq[ann['sample_start']:ann['sample_start'] + ann['sample_count']].real
  chip = int(round(w.params['chip_width_s'] * w.sample_rate))
  centres = (np.arange(13) + 0.5) * chip
  assert tuple(np.sign(pulse[centres.astype(int)]).astype(int)) == radar.BARKER_CODES[13]
  assert ann['freq_upper_edge'] == pytest.approx(1 / w.params['chip_width_s'])


def test_the_scan_sweeps_a_gaussian_beam_over_the_sidelobe_floor():
  w = radar.radar_waveform(seed=7, kind='unmodulated', pri_s=0.5e-3, duration_s=0.2)
  peak, rotation, beam = w.params['beam_peak_s'], w.params['rotation_s'], w.params['beamwidth_deg']
  for ann in w.annotations:
    middle = ann['sample_start'] + ann['sample_count'] // 2
    measured_db = 20 * np.log10(np.abs(w.iq[middle]))
    t = ann['specsense:pulse_start'] / w.sample_rate
    expected = max(-12.04 * ((t - peak) / rotation * 360 / beam) ** 2, w.params['sidelobe_db'])
    assert measured_db == pytest.approx(expected, abs=0.01)
    assert ann['specsense:gain_db'] == pytest.approx(expected, abs=1e-5)  # at the start's rounding


def test_same_seed_same_bytes_and_bad_arguments_named():
  a, b = radar.radar_waveform(seed=8), radar.radar_waveform(seed=8)
  assert a.iq.tobytes() == b.iq.tobytes() and a.annotations == b.annotations
  with pytest.raises(ValueError, match=r"kind must be None or one of \('unmodulated', 'lfm', 'barker'\)"):
    radar.radar_waveform(seed=0, kind='fmcw')
  with pytest.raises(ValueError, match='must be shorter than the PRI'):
    radar.radar_waveform(seed=0, kind='lfm', pulse_width_s=100e-6, pri_s=50e-6)
  with pytest.raises(ValueError, match='beyond the'):
    radar.radar_waveform(seed=0, kind='lfm', bandwidth_hz=80e6)
