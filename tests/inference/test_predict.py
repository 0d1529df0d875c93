"""predict on synthetic recordings with the shipped model: carriers found at 61.44, 30.72 and 19.2 Msps;
streaming with flat memory; bad inputs leave nothing behind."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.inference import predict
from specsense_jax.io import recordings
from specsense_jax.io import sigmf
from specsense_jax.signals import lte
from specsense_jax.signals import nr

CENTER = 2.6e9


def write_recording(path, rate, carriers, seconds=0.04, snr_db=15.0, seed=0, datatype='ci16_le'):
  """A SigMF recording of NR/LTE carriers (standard, bandwidth MHz, offset Hz[, NR SCS kHz]) in white noise."""
  n = int(round(seconds * rate))
  iq = np.zeros(n, np.complex64)
  for i, (standard, bandwidth, offset, *scs) in enumerate(carriers):
    if standard == 'NR':
      wave = nr.nr_waveform(bandwidth, scs[0] if scs else 30, ncellid=10 + i, seed=seed + i, sample_rate=rate,
                            duration_s=seconds)
    else:
      wave = lte.lte_waveform(bandwidth, ncellid=10 + i, seed=seed + i, sample_rate=rate, duration_s=seconds)
    x = wave.iq[:n] * np.exp(2j * np.pi * offset * np.arange(n) / rate)
    iq += (x / np.sqrt(np.mean(np.abs(x) ** 2))).astype(np.complex64)
  rng = np.random.default_rng(seed)
  iq += ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 10 ** (-snr_db / 20) / np.sqrt(2)).astype(
      np.complex64)
  iq /= 1.2 * np.abs(iq).max()
  return sigmf.write_recording(str(path), iq, rate, center_frequency=CENTER, datatype=datatype)


# Full-load carriers in white noise are MathWorks-parity frames: the pipeline's frequency and time mapping is checked
# with the model trained on them (short frames included). The default (realistic) model is checked on them below.
PARITY_MODEL = 'custom_synthetic_128_short'


@pytest.mark.parametrize('rate,carriers', [
    (61.44e6, [('NR', 20, -12e6), ('LTE', 10, 14e6)]),
    (30.72e6, [('NR', 10, -7e6), ('LTE', 5, 8e6)]),
    (19.2e6, [('NR', 5, -4.5e6, 15), ('LTE', 3, 5e6)]),
])
def test_finds_each_carrier(tmp_path, rate, carriers):
  meta = write_recording(tmp_path / 'rec', rate, carriers)
  document = predict.run_predict([meta], str(tmp_path / 'out'), figures=False, model=PARITY_MODEL)
  found = document['detections']
  assert len(found) == len(carriers), found
  for standard, bandwidth, offset, *_ in carriers:
    match = [d for d in found if d['standard'] == standard]
    assert len(match) == 1, found
    assert abs(match[0]['center_frequency_mhz'] - (CENTER + offset) / 1e6) <= 1.0, match
    assert abs(match[0]['bandwidth_mhz'] - bandwidth) <= 2.0, match
    assert match[0]['confidence'] > 0.8
  mask = np.load(tmp_path / 'out' / 'frame_0000_mask.npy')
  assert mask.shape == (128, 128)
  if rate < 61.44e6:  # columns beyond the recording's band are never labelled
    assert (mask[:, 0] == constants.NO_LABEL).all() and (mask[:, 64] != constants.NO_LABEL).all()


@pytest.mark.parametrize('rate,carriers', [
    (61.44e6, [('NR', 20, -12e6), ('LTE', 10, 14e6)]),
    (30.72e6, [('NR', 10, -7e6), ('LTE', 5, 8e6)]),
])
def test_default_model_finds_full_load_carriers(tmp_path, rate, carriers):
  meta = write_recording(tmp_path / 'rec', rate, carriers)
  found = predict.run_predict([meta], str(tmp_path / 'out'), figures=False)['detections']
  assert sorted(d['standard'] for d in found) == sorted(c[0] for c in carriers), found
  for standard, bandwidth, offset, *_ in carriers:
    (match,) = [d for d in found if d['standard'] == standard]
    assert abs(match['center_frequency_mhz'] - (CENTER + offset) / 1e6) <= 1.0, match
    assert abs(match['bandwidth_mhz'] - bandwidth) <= 2.0 and match['confidence'] > 0.7, match


def test_cli_writes_figures_masks_and_detections(tmp_path, repo_dir):
  meta = write_recording(tmp_path / 'rec', 61.44e6, [('LTE', 20, 5e6)], seconds=0.05)
  out = tmp_path / 'out'
  proc = subprocess.run([sys.executable, '-m', 'launch.predict', f'--input={meta}', f'--output={out}',
                         '--average=2'], cwd=repo_dir, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'LTE' in proc.stdout and '2 frames' in proc.stdout
  names = sorted(os.listdir(out))
  assert names == ['detections.json', 'frame_0000.png', 'frame_0000_mask.npy', 'frame_0000_mask.png',
                   'frame_0001.png', 'frame_0001_mask.npy', 'frame_0001_mask.png']
  document = json.loads((out / 'detections.json').read_text())
  assert document['frames'] == 2 and document['average'] == 2
  assert document['classes'] == ['Noise', 'NR', 'LTE', 'Unknown']  # what the masks' ids mean (the default's)
  # the last 10 ms are a frame of their own length, not a 40 ms frame padded with noise
  second = np.load(out / 'frame_0001_mask.npy')
  assert (second != constants.NO_LABEL).all() and (second == 2).any()
  cut = list(frames.recording_frames(recordings.open_recording(meta)))
  assert [(f.start_s, f.duration_s) for f in cut] == [(0.0, 0.04), (pytest.approx(0.04), pytest.approx(0.01))]
  lte_detection, = document['detections']
  assert lte_detection['end_s'] == pytest.approx(0.05, abs=0.001)


@pytest.mark.parametrize('rate', [61.44e6, 30.72e6])
def test_recording_shorter_than_a_frame_is_one_frame_of_its_length(tmp_path, rate):
  meta = write_recording(tmp_path / 'rec', rate, [('NR', 20, 6e6)], seconds=0.003)
  (frame,) = frames.recording_frames(recordings.open_recording(meta))
  assert frame.duration_s == pytest.approx(0.003) and frame.valid_rows.all()  # no 37 ms of noise fill
  document = predict.run_predict([meta], str(tmp_path / 'out'), figures=False, model=PARITY_MODEL)
  (carrier,) = document['detections']
  assert carrier['standard'] == 'NR' and abs(carrier['center_frequency_mhz'] - (CENTER + 6e6) / 1e6) <= 1.0
  assert carrier['start_s'] == 0.0 and carrier['end_s'] == pytest.approx(0.003, abs=1e-4)


def test_streaming_memory_stays_flat(tmp_path):
  import resource  # pylint: disable=g-import-not-at-top
  rate = 61.44e6
  num_frames = 40  # 1.6 s, 393 MB as cf32 in memory; the file itself is ci16
  meta = write_recording(tmp_path / 'rec', rate, [('LTE', 10, 0.0)], seconds=0.04)
  data = meta.replace('.sigmf-meta', '.sigmf-data')
  one = open(data, 'rb').read()
  with open(data, 'wb') as f:
    for _ in range(num_frames):
      f.write(one)
  sigmf.write_metadata(meta[:-len('.sigmf-meta')], 'ci16_le', rate, num_frames * len(one) // 4, center_frequency=CENTER)
  recording = recordings.open_recording(meta)
  peaks = []
  for frame in frames.recording_frames(recording):
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    assert frame.image.shape == (128, 128, 3)
  assert len(peaks) == num_frames
  assert peaks[-1] - peaks[2] < 50_000  # KB: far below one recording (196 MB as ci16)


@pytest.mark.parametrize('case,message', [
    ('truncated', 'not a whole number of ci16 samples'),
    ('wrong_dtype', r'--dtype must be one of'),
    ('no_rate', 'raw IQ needs --sample_rate'),
    ('sigmf_rate', "--sample_rate 3.072e\\+07 disagrees with the metadata's 6.144e\\+07"),
    ('sigmf_size', 'sigmf-data'),
    ('png_size', 'image is 64x64 but the model takes 128x128'),
    ('corrupt_png', 'not a readable image'),
    ('corrupt_npy', 'not a readable .npy array'),
])
def test_bad_inputs_name_the_file_and_leave_nothing(tmp_path, case, message):
  import PIL.Image  # pylint: disable=g-import-not-at-top
  kwargs = {}
  if case in ('truncated', 'wrong_dtype', 'no_rate'):
    path = tmp_path / 'iq.bin'
    path.write_bytes(b'\x00' * 4003)
    kwargs = {'truncated': dict(dtype='ci16', sample_rate=1e6), 'wrong_dtype': dict(dtype='ci12', sample_rate=1e6),
              'no_rate': dict(dtype='ci8')}[case]
    if case != 'truncated':
      path.write_bytes(b'\x00' * 4000)
  elif case in ('sigmf_rate', 'sigmf_size'):
    path = write_recording(tmp_path / 'rec', 61.44e6, [('LTE', 5, 0.0)], seconds=0.001)
    if case == 'sigmf_rate':
      kwargs = dict(sample_rate=30.72e6)
    else:
      data = path.replace('.sigmf-meta', '.sigmf-data')
      with open(data, 'r+b') as f:
        f.truncate(os.path.getsize(data) - 400)
  elif case == 'png_size':
    path = tmp_path / 'a.png'
    PIL.Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
  elif case == 'corrupt_png':
    path = tmp_path / 'a.png'
    path.write_bytes(b'\x89PNG broken')
  else:
    path = tmp_path / 'a.npy'
    path.write_bytes(b'not numpy')
    kwargs = dict(sample_rate=1e6)
  out = tmp_path / 'out'
  with pytest.raises(ValueError, match=message) as error:
    predict.run_predict([str(path)], str(out), figures=False, **kwargs)
  assert os.path.basename(str(path)).split('.')[0] in str(error.value)
  assert not out.exists() and not (tmp_path / 'out.partial').exists()


def test_a_failed_mask_write_stops_predict_and_leaves_nothing(tmp_path, monkeypatch):
  # masks are written by a background thread: its error still ends the run, with the staging folder removed
  meta = write_recording(tmp_path / 'rec', 61.44e6, [('LTE', 5, 0.0)], seconds=0.05)
  written = []

  def save_or_fail(mask, stem):
    if stem.endswith('frame_0001'):
      raise OSError(f'{stem}_mask.npy: no space left on device')
    written.append(stem)
  monkeypatch.setattr(predict, '_save_mask', save_or_fail)
  with pytest.raises(OSError, match='frame_0001_mask.npy: no space left'):
    predict.run_predict([meta], str(tmp_path / 'out'), figures=False)
  assert written and not (tmp_path / 'out').exists() and not (tmp_path / 'out.partial').exists()


def test_average_mode_at_the_model_rate_equals_the_whole_frame_spectrogram(tmp_path):
  from specsense_jax import spectrogram  # pylint: disable=g-import-not-at-top
  meta = write_recording(tmp_path / 'rec', 61.44e6, [('NR', 20, 5e6)], seconds=0.06)
  recording = recordings.open_recording(meta)
  first, second = list(frames.recording_frames(recording, mode='average'))
  expected = spectrogram.spectrogram_image(recording.read(0, 2_457_600), 61.44e6, (128, 128), 'average')
  np.testing.assert_array_equal(first.image, expected)
  np.testing.assert_array_equal(second.image, spectrogram.spectrogram_image(
      recording.read(2_457_600, 1_228_800), 61.44e6, (128, 128), 'average'))  # the last 20 ms: their own frame
  assert first.valid_rows.all() and second.valid_rows.all() and second.duration_s == pytest.approx(0.02)
  # a 1 ms rest is shorter than average mode's 128 x 1024 samples: that frame is padded, the pad unlabelled
  short_tail = write_recording(tmp_path / 'tail', 61.44e6, [('NR', 20, 5e6)], seconds=0.041)
  last = list(frames.recording_frames(recordings.open_recording(short_tail), mode='average'))[-1]
  assert last.duration_s == pytest.approx(128 * 1024 / 61.44e6) and last.valid_rows.sum() == 60
  with pytest.raises(ValueError, match="--mode=average: model 'custom_realistic_128' was trained on matlab-mode "
                     r"spectrograms .* \(shipped: \['custom_synthetic_128_average'\]\)"):
    predict.run_predict([meta], str(tmp_path / 'wrong'), mode='average', figures=False)
  assert not (tmp_path / 'wrong').exists() and not (tmp_path / 'wrong.partial').exists()
  document = predict.run_predict([meta], str(tmp_path / 'out'), model='custom_synthetic_128_average',
                                 figures=False)  # the mode follows the model
  assert document['frames'] == 2 and document['source']['mode'] == 'average'
  (nr_carrier,) = document['detections']
  assert nr_carrier['standard'] == 'NR' and abs(nr_carrier['center_frequency_mhz'] - (CENTER + 5e6) / 1e6) <= 1.0
  assert abs(nr_carrier['bandwidth_mhz'] - 20) <= 2.0 and nr_carrier['end_s'] == pytest.approx(0.06, abs=0.002)
