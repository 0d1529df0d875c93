"""MathWorks downloads through `tfds.load`: miniature downloads made of HDF4 labels written by the HDF Group's
tools (tests/io/fixtures/make_hdf4_fixtures.py) and PNG images made here from them."""

import glob
import os
import pathlib
import shutil

import numpy as np
import PIL.Image
import pytest
import tensorflow_datasets as tfds

from specsense_jax import constants
from specsense_jax.data import mathworks
from specsense_jax.io import hdf4
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the builder
from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder as builder_lib

FIXTURES = pathlib.Path(__file__).parents[1] / 'io' / 'fixtures' / 'mathworks'
VERSION = str(builder_lib.Builder.VERSION)
NOISE, NR, LTE, UNKNOWN, WLAN = (constants.CLASS_IDS[n] for n in ('Noise', 'NR', 'LTE', 'Unknown', 'WLAN'))
START = (255, 0, 0)  # the colour of the images' frame-start row (the last row of a MathWorks image)


def _download(tmp_path, version: str, copies: int = 1) -> pathlib.Path:
  """A miniature download of `version`: the fixture labels (each `copies` times, as frames of new numbers) with
  grey PNGs of their values whose frame-start row (last, as MATLAB flips them) is red."""
  root = tmp_path / f'manual_{version}'
  shutil.copytree(FIXTURES / version, root)
  for label in sorted(root.rglob('*.hdf')):
    values = hdf4.read_raster8(label)
    image = np.repeat(values[..., None], 3, axis=-1)
    image[-1] = START
    stem, number = str(label)[:-4].rsplit('_frame_', 1)
    for k in range(copies):
      name = f'{stem}_frame_{int(number) + 100 * k}'
      if k:
        shutil.copy(label, name + '.hdf')
      PIL.Image.fromarray(image).save(name + '.png')
  return root


def _build(data_dir, config, manual_dir):
  builder = tfds.builder(f'spectrum_sensing/{config}', data_dir=str(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return tfds.builder(f'spectrum_sensing/{config}', data_dir=str(data_dir))  # as a later session loads it


def _examples(builder):
  return {split: list(tfds.as_numpy(builder.as_dataset(split=split))) for split in builder.info.splits}


def test_2021_training_set_loads_three_classes_in_our_orientation_evaluates_and_trains(tmp_path, tiny_config):
  root = _download(tmp_path, '2021', copies=3)
  builder = _build(tmp_path / 'data', 'mathworks_128', root)
  assert builder.info.metadata['class_names'] == ['Noise', 'NR', 'LTE']
  assert builder.info.metadata['label_version'] == '2021'
  by_split = _examples(builder)
  assert sorted(len(v) for v in by_split.values()) == [1, 1, 10]  # 12 frames: 80/10/10 by a hash of the path
  for ex in sum(by_split.values(), []):
    name = ex['file_name'].decode()
    raw = hdf4.read_raster8(root / (name + '.hdf'))
    expected = np.select([raw == 127, raw == 255], [NR, LTE], NOISE)
    np.testing.assert_array_equal(ex['mask'][..., 0], np.flipud(expected))
    assert (ex['image'][0] == START).all() and not (ex['image'][1:] == START).all(axis=-1).any()
    assert ex['scene'].decode() == _standards(name)  # nr, lte, lte_nr
  lte_nr = next(ex for ex in by_split['train'] if ex['file_name'] == b'TrainingData/128x128/LTE_NR/LTE_NR_frame_0')
  # the fixture's NR occupies columns 5-30 % and LTE 60-95 % of the band, over every row
  assert (lte_nr['mask'][:, 7:38, 0] == NR).all() and (lte_nr['mask'][:, 77:121, 0] == LTE).all()
  assert list(lte_nr['signals']) == [True, True, False]
  # `launch.evaluate --dataset=spectrum_sensing/mathworks_128` with a shipped (four-class) model, and training
  from specsense_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
  from specsense_jax.training import train  # pylint: disable=g-import-not-at-top
  report = reports.evaluate_model('custom_realistic_128', 'test', output_dir=str(tmp_path / 'eval'),
                                  dataset='spectrum_sensing/mathworks_128', data_dir=str(tmp_path / 'data'))
  assert report['dataset_class_names'] == ['Noise', 'NR', 'LTE'] and np.sum(report['confusion_matrix']) == 128 ** 2
  result = train.train_and_evaluate(tiny_config(dataset='spectrum_sensing/mathworks_128', image_size=128,
                                                data_dir=str(tmp_path / 'data'), max_steps=1), str(tmp_path / 'run'))
  assert np.shape(result['confusion_matrix']) == (3, 3)


def _standards(file_name: str) -> str:
  return file_name.split('/')[-1].rsplit('_frame_', 1)[0].lower()


def test_2025_sets_hold_wlan_in_its_rows_from_the_frame_start(tmp_path):
  root = _download(tmp_path, '2025')
  builder = _build(tmp_path / 'data', 'mathworks_2025_256', root)
  assert builder.info.metadata['class_names'] == list(constants.FIVE_CLASSES)
  frames = {ex['file_name'].decode(): ex for ex in sum(_examples(builder).values(), [])}
  assert sorted(frames) == ['TrainingData/256x256/LTE_NR_WLAN/LTE_NR_WLAN_frame_0',
                            'TrainingData/256x256/LTE_frame_0', 'TrainingData/256x256/NR_frame_0',
                            'TrainingData/256x256/WLAN_frame_0']  # captured/ is not training data
  wlan = frames['TrainingData/256x256/WLAN_frame_0']['mask'][..., 0]
  # The fixture's packets: columns 30-45 % in the first 5 % of the frame and at 50-55 % of it.
  cols = slice(77, 115)
  assert (wlan[:13, cols] == WLAN).all() and (wlan[13:128, cols] == NOISE).all()
  assert (wlan[128:141, cols] == WLAN).all() and (wlan[141:, cols] == NOISE).all()
  assert frames['TrainingData/256x256/LTE_NR_WLAN/LTE_NR_WLAN_frame_0']['scene'] == b'lte_nr_wlan'
  assert list(frames['TrainingData/256x256/WLAN_frame_0']['signals']) == [False, False, False, True]
  captured = _build(tmp_path / 'data', 'mathworks_2025_captured_256', root)
  [ex] = sum(_examples(captured).values(), [])
  assert ex['scene'] == b'captured' and ex['recording'] == b'Band2.4GHz_BW60MHz_'
  mask = ex['mask'][..., 0]
  assert (mask[51:77, 26:102] == WLAN).all() and (mask[:, 205:230] == UNKNOWN).all()


def test_captured_frames_of_one_capture_share_a_split(tmp_path):
  root = _download(tmp_path, '2023')
  builder = _build(tmp_path / 'data', 'mathworks_captured_128', root)
  assert builder.info.metadata['class_names'] == list(constants.FOUR_CLASSES)
  where = {}
  for split, items in _examples(builder).items():
    for ex in items:
      where.setdefault(ex['recording'].decode(), set()).add(split)
  assert sorted(where) == ['CF1800MHz_BW60MHz_20230623121212121', 'CF3500MHz_BW100MHz_20230622101010101',
                           'CF800MHz_BW200MHz_20230621151545934']
  assert all(len(splits) == 1 for splits in where.values())  # the two CF800 frames land together
  assert len(set().union(*where.values())) == 3  # three captures: one each to train, validation and test
  training = _examples(_build(tmp_path / 'data', 'mathworks_128', root))
  assert not any(ex['scene'] == b'captured' for items in training.values() for ex in items)


@pytest.mark.parametrize('problem, match', [
    ('no_label', r'NR_frame_3.png has no label file NR_frame_3.hdf beside it'),
    ('values', r'NR_frame_3.hdf: label values \[50\] fit no MathWorks label version'),
    ('size', r'NR_frame_3.hdf: label is 64x64 pixels; this config reads 128x128 frames'),
    ('image_size', r'NR_frame_3.png: image is 64x64 pixels; this config reads 128x128 frames'),
])
def test_bad_downloads_fail_naming_the_file_and_leave_nothing(tmp_path, problem, match):
  root = _download(tmp_path, '2023')
  target = root / 'TrainingData' / '128x128' / 'NR_frame_3'
  if problem == 'no_label':
    os.remove(f'{target}.hdf')
  elif problem == 'values':
    shutil.copy(FIXTURES / 'bad' / 'values_50.hdf', f'{target}.hdf')
  elif problem == 'size':
    shutil.copy(FIXTURES / 'bad' / 'size_64.hdf', f'{target}.hdf')
  else:
    PIL.Image.new('RGB', (64, 64)).save(f'{target}.png')
  data_dir = tmp_path / 'data'
  with pytest.raises(ValueError, match=match):
    _build(data_dir, 'mathworks_128', root)
  assert not tfds.builder('spectrum_sensing/mathworks_128', data_dir=str(data_dir)).is_prepared()
  assert not glob.glob(f'{data_dir}/spectrum_sensing/mathworks_128/{VERSION}/*.tfrecord*')


def test_version_detection_and_value_mapping():
  zeros = str(FIXTURES / 'bad' / 'size_64.hdf')  # only 0: every version's Noise
  root, name = os.path.dirname(zeros), 'size_64'
  with pytest.raises(ValueError, match=r"label values \[0\] fit versions \['2021', '2023'\]; set the config's "
                                       'label_versions'):
    mathworks.detect_version(root, [name], 64, ('2021', '2023'))
  assert mathworks.detect_version(root, [name], 64, ('2025',)) == '2025'
  values = np.array([[0, 63, 127], [191, 255, 0]], np.uint8)
  np.testing.assert_array_equal(mathworks.to_class_ids(values, '2025', 'x.hdf'),
                                [[NOISE, NR, LTE], [WLAN, UNKNOWN, NOISE]])
  with pytest.raises(ValueError, match=r'x.hdf: label values \[63, 127, 191\] are not in the 2023 set'):
    mathworks.to_class_ids(values, '2023', 'x.hdf')
  assert mathworks.capture_name('captured/CF800MHz_BW200MHz_20230621151545934_frame_3') == (
      'CF800MHz_BW200MHz_20230621151545934')
