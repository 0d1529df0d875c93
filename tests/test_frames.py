"""frames: the one framing path of prediction, capture evaluation and the captured datasets: same bytes for the
same recording and seed, the tail rule, NO_LABEL wherever a frame has no data, whole recordings per split."""

import os
import shutil
import types

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.data import examples
from specsense_jax.data import splits
from specsense_jax.io import recordings
from specsense_jax.io import sigmf
from specsense_jax.signals import channel
from specsense_jax.signals import lte

LTE_WIDE = {'label': 'LTE', 'freq_lower_edge': -20e6, 'freq_upper_edge': 20e6}  # wider than any test recording


def _write(path, rate, seconds, annotations=(), seed=0):
  """A SigMF recording: white noise plus a tone at +rate/8, annotated over its whole length."""
  n = int(round(seconds * rate))
  rng = np.random.default_rng(seed)
  iq = 0.05 * (rng.standard_normal(n) + 1j * rng.standard_normal(n)) + 0.3 * np.exp(2j * np.pi * np.arange(n) / 8)
  return sigmf.write_recording(str(path), (iq / (1.1 * np.abs(iq).max())).astype(np.complex64), rate,
                               center_frequency=2e9, datatype='ci16_le',
                               annotations=[{**a, 'sample_start': 0, 'sample_count': n} for a in annotations])


def test_same_bytes_for_the_same_recording_and_seed(tmp_path):
  # 41 ms at 7.68 Msps: band fill in both frames, and in average mode the 1 ms rest is padded to the mode's
  # minimum with time fill.
  meta = _write(tmp_path / 'rec', 7.68e6, 0.041)
  os.mkdir(tmp_path / 'copy')
  for suffix in ('.sigmf-meta', '.sigmf-data'):
    shutil.copy(tmp_path / f'rec{suffix}', tmp_path / 'copy' / f'rec{suffix}')
  first, again = (recordings.open_recording(p) for p in (meta, str(tmp_path / 'copy' / 'rec.sigmf-meta')))
  spans = list(frames.frame_spans(first, 'average'))
  assert [(s.valid, s.num_samples) for s in spans] == [(2_457_600, 2_457_600), (61_440, 131_072)]
  for span in spans:
    assert frames.frame_iq(first, span).tobytes() == frames.frame_iq(again, span).tobytes()
    assert frames.frame_iq(first, span, seed=1).tobytes() != frames.frame_iq(first, span).tobytes()
  images = [f.image for f in frames.recording_frames(first, (64, 64), 'average')]
  assert all(np.array_equal(a.image, b) for a, b in zip(frames.recording_frames(again, (64, 64), 'average'), images))


@pytest.mark.parametrize('seconds,expected', [
    (0.045, [(0.0, 0.04), (0.04, 0.005)]),  # the rest after the last whole frame: a frame of its own length
    (0.003, [(0.0, 0.003)]),                # shorter than one frame: one frame of its length
])
def test_tail_rule(tmp_path, seconds, expected):
  rec = recordings.open_recording(_write(tmp_path / 'rec', 19.2e6, seconds, [LTE_WIDE]))
  cut = list(frames.recording_frames(rec, (64, 64)))
  assert [(f.start_s, f.duration_s) for f in cut] == [(pytest.approx(a), pytest.approx(b)) for a, b in expected]
  for frame in cut:  # never padded with noise in time: every row is data, every sample from the recording
    assert frame.valid_rows.all() and frame.valid_fraction == 1.0
    assert frame.num_samples == round(frame.duration_s * constants.MODEL_RATE)
    assert frame.annotations[0]['sample_count'] == frame.num_samples


def test_mask_is_no_label_in_the_fill_and_outside_the_band(tmp_path):
  # 1 ms at 19.2 Msps in average mode: padded to 128 x 1024 samples (60 of 128 rows are data), and only the
  # central 19.2 of 61.44 MHz is band; the annotation claims more than either.
  rec = recordings.open_recording(_write(tmp_path / 'rec', 19.2e6, 0.001, [LTE_WIDE]))
  (frame,) = frames.recording_frames(rec, (128, 128), 'average')
  mask = frames.label_mask(frame)
  band = frames.band_columns(19.2e6, 128)
  assert band.sum() == 40 and frame.valid_rows.sum() == 60 and not frame.valid_rows[60:].any()
  assert (mask[:, ~band] == constants.NO_LABEL).all() and (mask[60:] == constants.NO_LABEL).all()
  assert (mask[:60][:, band] == constants.CLASS_IDS['LTE']).all()  # the class only where there is data
  assert frame.noise_floor_db is not None and frame.valid_fraction == pytest.approx(61_440 / 131_072)


def test_captured_examples_masks_carry_no_label_and_splits_hold_whole_recordings(tmp_path):
  names = ['alpha', 'bravo', 'charlie']
  for k, name in enumerate(names):
    _write(tmp_path / name, 7.68e6, 0.045, [{'label': 'NR', 'freq_lower_edge': -2e6, 'freq_upper_edge': 2e6}],
           seed=k)
  by_split = examples.captured_examples(str(tmp_path), 64)
  assignment = splits.recording_splits(names)
  assert sorted(assignment.values()) == ['test', 'train', 'validation']
  band = frames.band_columns(7.68e6, 64)
  for split, items in by_split.items():
    assert sorted(key for key, _ in items) == sorted(f'{n}/{i}' for n in names if assignment[n] == split
                                                     for i in (0, 1))
    for _, example in items:
      mask = example['mask'][..., 0]
      assert (mask[:, ~band] == constants.NO_LABEL).all()  # band fill: no label, never a class
      assert set(np.unique(mask[:, band])) == {constants.CLASS_IDS['Noise'], constants.CLASS_IDS['NR']}
      assert example['valid_fraction'] == 1.0  # the 5 ms rest is its own frame
  again = examples.captured_examples(str(tmp_path), 64)
  assert all(np.array_equal(a['image'], b['image']) and np.array_equal(a['mask'], b['mask'])
             for s in splits.SPLITS for (_, a), (_, b) in zip(by_split[s], again[s]))


def test_captured_labels_outside_the_class_set_are_unknown(tmp_path):
  # A recording annotated WLAN in a four-class captured set: its pixels are Unknown there, WLAN in a five-class one.
  wlan = {'label': 'WLAN', 'freq_lower_edge': -2e6, 'freq_upper_edge': 2e6}
  _write(tmp_path / 'wifi', 7.68e6, 0.04, [wlan])
  four = examples.captured_examples(str(tmp_path), 64)
  five = examples.captured_examples(str(tmp_path), 64, class_names=constants.FIVE_CLASSES)
  (_, a), = [item for items in four.values() for item in items]
  (_, b), = [item for items in five.values() for item in items]
  wlan_pixels = b['mask'] == constants.CLASS_IDS['WLAN']
  assert wlan_pixels.any() and (a['mask'][wlan_pixels] == constants.CLASS_IDS['Unknown']).all()
  assert list(a['signals']) == [False, False, True] and list(b['signals']) == [False, False, False, True]


def test_recording_splits_are_whole_deterministic_and_fill_every_split_from_three():
  for n in range(1, 9):
    names = [f'capture_{k}' for k in range(n)]
    assignment = splits.recording_splits(names)
    assert assignment == splits.recording_splits(names[::-1])  # the order given does not matter
    counts = {s: list(assignment.values()).count(s) for s in splits.SPLITS}
    assert counts == ({'train': 1, 'validation': 0, 'test': 0} if n == 1 else
                      {'train': 1, 'validation': 0, 'test': 1} if n == 2 else
                      {'train': n - 2, 'validation': 1, 'test': 1})
  with pytest.raises(ValueError, match='unique'):
    splits.recording_splits(['a', 'a'])


# Recordings at other rates and lengths -> 40 ms frames at 61.44 MHz.

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


def test_frame_annotations_carry_a_bursts_visibility_keys():
  # The capture path (what realistic configs' frames pass through) keeps a pulse's C/N0 and spectral spread, in Hz
  # and dB-Hz whatever the recording's rate, beside its samples moved to the frame's rate and span.
  spread = {'centre_hz': 1e6, 'offset_hz': [0.0, 1e6], 'level_db': [-60.0, -80.0]}
  pulse = {'label': 'Radar', 'freq_lower_edge': 5e5, 'freq_upper_edge': 1.5e6, 'sample_start': 1_000,
           'sample_count': 61, constants.CN0_KEY: 90.0, constants.SPREAD_KEY: spread}
  recording = types.SimpleNamespace(sample_rate=frames.MODEL_RATE / 2, annotations=[pulse, {
      k: v for k, v in pulse.items() if k not in (constants.CN0_KEY, constants.SPREAD_KEY)}])
  span = frames.FrameSpan(index=0, segment=None, first=500, last=20_500, duration_s=20_000 / recording.sample_rate,
                          num_samples=40_000, valid=40_000)
  kept, plain = frames._frame_annotations(recording, span)  # pylint: disable=protected-access
  assert (kept['sample_start'], kept['sample_count']) == (1_000, 122)  # (1000 - 500) x 2, 61 x 2
  assert kept[constants.CN0_KEY] == 90.0 and kept[constants.SPREAD_KEY] is spread
  assert constants.CN0_KEY not in plain and constants.SPREAD_KEY not in plain
