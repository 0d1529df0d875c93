"""spectrum_sensing builds: determinism across workers and Beam, labels, and bad input."""

import glob
import json
import os
import shutil

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from specsense_jax import spectrogram
from specsense_jax.io import sigmf
from specsense_jax.signals import generate_frame
from specsense_jax.signals import SceneConfig
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the builder

DUMMY = os.path.join(os.path.dirname(tfds_builders.spectrum_sensing.__file__), 'dummy_data')


def _build(data_dir, config='synthetic_tiny', workers=1, beam_runner=False, manual_dir=None):
  os.environ['SPECSENSE_TFDS_WORKERS'] = str(workers)
  builder = tfds.builder(f'spectrum_sensing/{config}', data_dir=str(data_dir))
  options = beam.options.pipeline_options.PipelineOptions(['--runner=DirectRunner']) if beam_runner else None
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      beam_options=options, manual_dir=manual_dir))
  return builder


def _records(data_dir, config='synthetic_tiny'):
  out = {}
  for split in ('train', 'validation', 'test'):
    files = sorted(glob.glob(f'{data_dir}/spectrum_sensing/{config}/1.0.0/spectrum_sensing-{split}.tfrecord*'))
    out[split] = sorted(r.numpy() for r in tf.data.TFRecordDataset(files))
  return out


@pytest.fixture(scope='module')
def tiny_dir(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp('tiny')
  _build(data_dir, workers=2)
  return data_dir


def test_builds_are_byte_identical_across_workers_and_beam(tiny_dir, tmp_path):
  _build(tmp_path / 'single', workers=1)
  _build(tmp_path / 'beam', beam_runner=True)
  reference = _records(tiny_dir)
  assert [len(reference[s]) for s in ('train', 'validation', 'test')] == [16, 2, 2]
  assert _records(tmp_path / 'single') == reference
  assert _records(tmp_path / 'beam') == reference


def test_masks_agree_with_frame_annotations(tiny_dir):
  ds = tfds.load('spectrum_sensing/synthetic_tiny', data_dir=str(tiny_dir), split='validation+test')
  config = SceneConfig(image_width=64)
  for example in tfds.as_numpy(ds):
    index = int(example['frame_index'])
    assert index % 10 in (8, 9)
    frame = generate_frame((0, index), config)
    expected = spectrogram.label_mask(frame.annotations, frame.sample_rate, len(frame.iq), (64, 64))
    np.testing.assert_array_equal(example['mask'][..., 0], expected)
    np.testing.assert_array_equal(
        example['image'], spectrogram.spectrogram_image(frame.iq, frame.sample_rate, (64, 64)))
    params = json.loads(example['params'])
    assert example['scene'].decode() == params['scene']
    labels = {a['label'] for a in frame.annotations}
    np.testing.assert_array_equal(example['signals'], ['NR' in labels, 'LTE' in labels, False])
    assert example['snr_db'] == pytest.approx(frame.snr_db, rel=1e-6)


def test_captured_config_labels_recordings(tmp_path):
  builder = _build(tmp_path, 'captured_128', manual_dir=DUMMY)
  examples = list(tfds.as_numpy(builder.as_dataset(split='train')))
  by_name = {(e['recording'].decode(), int(e['frame_index'])): e for e in examples}
  assert set(by_name) == {('lte_dummy', 0), ('lte_dummy', 1), ('nr_dummy', 0)}
  nr_mask = by_name['nr_dummy', 0]['mask'][..., 0]
  # 8 ms of 40: rows 0..25 labelled; NR over [-1.5, 3.5] MHz, the 'beacon' (Unknown) for the first 4 ms only.
  cols = lambda lo, hi: slice(int((30.72e6 + lo) // 0.48e6), int((30.72e6 + hi) // 0.48e6) + 1)
  assert np.all(nr_mask[:25, cols(-1.5e6, 3.5e6)] == 1)
  assert np.all(nr_mask[:12, cols(-3.1e6, -2.9e6)] == 3)
  assert np.all(nr_mask[27:] == 0)
  assert by_name['nr_dummy', 0]['valid_fraction'] == pytest.approx(0.2)
  assert by_name['lte_dummy', 1]['valid_fraction'] == pytest.approx(0.125)


def test_missing_manual_dir_gives_instructions(tmp_path):
  with pytest.raises(AssertionError, match='annotate_captures'):
    _build(tmp_path / 'data', 'captured_128', manual_dir=str(tmp_path / 'nowhere'))


def _bad_recording(tmp_path, problem):
  folder = tmp_path / 'manual'
  folder.mkdir()
  for name in os.listdir(DUMMY):
    if name.startswith('lte_dummy.'):
      shutil.copy(os.path.join(DUMMY, name), folder / name)
  meta = folder / 'lte_dummy.sigmf-meta'
  data = folder / 'lte_dummy.sigmf-data'
  if problem == 'half_sample':
    data.write_bytes(data.read_bytes()[:-1])
  elif problem == 'truncated':
    data.write_bytes(data.read_bytes()[:-2])
  elif problem == 'datatype':
    meta.write_text(meta.read_text().replace('"ci8"', '"cf64_le"'))
  elif problem == 'annotation':
    meta.write_text(meta.read_text().replace('"core:sample_count": 86400', '"core:sample_count": 99999'))
  elif problem == 'nonfinite':
    iq = np.zeros(1000, np.complex64)
    iq[500] = np.nan
    np.stack([iq.real, iq.imag], 1).astype('<f4').tofile(data)
    text = json.loads(meta.read_text())
    text['global']['core:datatype'] = 'cf32_le'
    text['global']['specsense:num_samples'] = 1000
    text['annotations'][0]['core:sample_count'] = 1000
    meta.write_text(json.dumps(text))
  return folder


@pytest.mark.parametrize('problem,match', [
    ('half_sample', 'not a whole number of ci8 samples'),
    ('truncated', 'holds 86399 samples but the metadata declares 86400'),
    ('datatype', 'unsupported datatype'),
    ('annotation', 'outside the recording'),
    ('nonfinite', 'non-finite sample'),
])
def test_bad_recordings_fail_naming_file_and_leave_nothing(tmp_path, problem, match):
  manual = _bad_recording(tmp_path, problem)
  data_dir = tmp_path / 'data'
  with pytest.raises(ValueError, match=match) as error:
    _build(data_dir, 'captured_128', manual_dir=str(manual))
  assert 'lte_dummy.sigmf' in str(error.value)
  assert not tfds.builder('spectrum_sensing/captured_128', data_dir=str(data_dir)).is_prepared()
  assert not glob.glob(f'{data_dir}/spectrum_sensing/captured_128/1.0.0/*.tfrecord*')


@pytest.mark.slow
def test_tfds_build_command_line(tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  tfds_cli = os.path.join(os.path.dirname(sys.executable), 'tfds')
  env = dict(os.environ, SPECSENSE_TFDS_WORKERS='1')
  subprocess.run([tfds_cli, 'build', 'tfds_builders/spectrum_sensing', '--config=synthetic_tiny',
                  f'--data_dir={tmp_path}'], check=True, capture_output=True, env=env,
                 cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
  builder = tfds.builder('spectrum_sensing/synthetic_tiny', data_dir=str(tmp_path))
  assert builder.is_prepared()
  assert builder.info.splits['train'].num_examples == 16
