"""Recordings at other rates and lengths -> 40 ms frames at 61.44 MHz."""

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.io import recordings
from specsense_jax.io import sigmf
from specsense_jax.signals import channel
from specsense_jax.signals import lte


def _recording(tmp_path, sample_rate, duration, bandwidth=10, snr=20):
  wave = lte.lte_waveform(bandwidth, ncellid=3, seed=0, sample_rate=sample_rate, duration_s=duration)
  iq = 0.1 * channel.add_awgn(wave.iq, snr, np.random.default_rng(0))
  ann = [{'label': 'LTE', 'freq_lower_edge': -bandwidth * 5e5, 'freq_upper_edge': bandwidth * 5e5,
          'sample_start': 0, 'sample_count': len(iq)}]
  return recordings.read_recording(sigmf.write_recording(tmp_path / f'r{int(sample_rate)}', iq, sample_rate,
                                                    annotations=ann))


def test_narrow_recording_is_resampled_and_filled_at_its_floor(tmp_path):
  rec = _recording(tmp_path, 15.36e6, 0.05)
  first, last = frames.frame_spans(rec)
  assert (first.index, last.index) == (0, 1)
  assert first.num_samples == first.valid == 2_457_600
  assert last.num_samples == last.valid == 614_400  # the last 10 ms: a frame of its own length, no time fill
  iq = frames.frame_iq(rec, first)
  assert len(iq) == 2_457_600
  # Floor noise density inside the recording's band and in the fill are the same within 1.5 dB.
  psd = lambda x, lo, hi: np.mean(np.abs(np.fft.fft(x)[(np.abs(np.fft.fftfreq(len(x), 1 / 61.44e6)) >= lo) &
                                                      (np.abs(np.fft.fftfreq(len(x), 1 / 61.44e6)) < hi)]) ** 2)
  inside, fill = psd(iq, 4.6e6, 7.4e6), psd(iq, 9e6, 30e6)
  assert 10 * np.log10(fill / inside) == pytest.approx(0, abs=1.5)
  _, frame = frames.recording_frames(rec)
  mask = frames.label_mask(frame)
  band = frames.band_columns(15.36e6, 128)
  assert (mask[:, ~band] == constants.NO_LABEL).all()  # the band fill is never labelled
  assert (mask[:, band] != constants.NO_LABEL).all() and (mask == 2).any(axis=1).all()  # LTE on every row
  assert frame.annotations[0]['sample_count'] == 614_400


def test_wide_recording_is_decimated_and_labels_clipped(tmp_path):
  rec = _recording(tmp_path, 122.88e6, 0.004, bandwidth=20)
  rec.annotations.append({'label': 'NR', 'freq_lower_edge': 40e6, 'freq_upper_edge': 50e6, 'sample_start': 0,
                          'sample_count': rec.num_samples})
  rec.annotations.append({'label': 'NR', 'freq_lower_edge': 25e6, 'freq_upper_edge': 45e6, 'sample_start': 0,
                          'sample_count': rec.num_samples})
  frame, = frames.recording_frames(rec)
  assert [a['label'] for a in frame.annotations] == ['LTE', 'NR']  # the one outside the 61.44 MHz span drops
  assert frame.annotations[1]['freq_upper_edge'] == 30.72e6
  assert frame.valid_columns.all() and frame.noise_floor_db is None  # nothing to fill


def test_noise_floor_of_white_noise():
  noise = channel.add_awgn(np.zeros(200_000, np.complex64), 0, np.random.default_rng(1), signal_power=1.0)
  assert 10 * np.log10(frames.noise_floor_density(noise, 1e6) * 1e6) == pytest.approx(0, abs=1.0)
