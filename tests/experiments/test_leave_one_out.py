"""Leave-one-recording-out fine-tuning on the builder's two dummy SigMF recordings: each fold trains without the
recording it is scored on, starts from the given network, and the table reports both; the pipeline's recording
filter drops exactly the named recordings' frames."""

import json
import os

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from specsense_jax.data import pipeline
from specsense_jax.experiments import leave_one_out
from specsense_jax.training import checkpoints
from specsense_jax.training import train
import tfds_builders.spectrum_sensing

DUMMY = os.path.join(os.path.dirname(tfds_builders.spectrum_sensing.__file__), 'dummy_data')
DATASET = 'spectrum_sensing/captured_128'


@pytest.fixture(scope='module')
def captured_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('captured'))
  os.environ['SPECSENSE_TFDS_WORKERS'] = '1'
  tfds.builder(DATASET, data_dir=path).download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=DUMMY))
  return path


def _images(data_dir, recording):
  ds = tfds.load(DATASET, split='train+test', data_dir=data_dir)
  return {e['image'].tobytes() for e in tfds.as_numpy(ds) if e['recording'].decode() == recording}


def test_excluded_recordings_never_reach_training(captured_dir):
  ds = pipeline.input_pipeline(DATASET, 'train+test', global_batch_size=8, train=True, data_dir=captured_dir,
                               exclude_recordings=['nr_dummy'])
  drawn = {np.round(image * 255).astype(np.uint8).tobytes() for batch in tfds.as_numpy(ds.take(3))
           for image in batch['image']}
  assert drawn == _images(captured_dir, 'lte_dummy')  # lte_dummy's two frames, nr_dummy's none
  with pytest.raises(ValueError, match='for training pipelines only'):
    pipeline.input_pipeline(DATASET, 'test', global_batch_size=8, train=False, data_dir=captured_dir,
                            exclude_recordings=['nr_dummy'])
  assert pipeline.mix_source('a/b@train+test', 'train') == ('a/b', 'train+test')
  assert pipeline.mix_source('a/b', 'train') == ('a/b', 'train')


def test_folds_train_without_their_recording(captured_dir, tiny_config, tmp_path, monkeypatch):
  config = tiny_config(dataset=DATASET, data_dir=captured_dir, image_size=128, train_split='train+test',
                       eval_split='test', test_split='test', max_steps=1, batch_size=8)
  train.train_and_evaluate(config, str(tmp_path / 'start'))
  with config.unlocked():
    config.init_from = str(tmp_path / 'start')
    config.learning_rate = 0.0  # the folds keep the starting weights: before and after must agree
  seen = []
  real_train = train.train_and_evaluate

  def spy(fold_config, workdir):
    seen.append((os.path.basename(workdir), fold_config.exclude_recordings, fold_config.init_from))
    return real_train(fold_config, workdir)
  monkeypatch.setattr(train, 'train_and_evaluate', spy)
  rows = leave_one_out.leave_one_recording_out(config, str(tmp_path / 'loo'), DUMMY, recordings_to_score=['nr_dummy'])
  start = str(tmp_path / 'start')
  assert seen == [('nr_dummy', 'nr_dummy', start)]
  assert [(r['recording'], r['held_out'], r['annotated']) for r in rows] == [('nr_dummy', False, 'NR')]
  # learning rate 0: the fold's parameters are the starting network's (only BatchNorm statistics move)
  start_params = jax.tree.leaves(checkpoints.restore_variables(start)['params'])
  fold_params = jax.tree.leaves(checkpoints.restore_variables(str(tmp_path / 'loo' / 'nr_dummy'))['params'])
  assert all(np.array_equal(a, b) for a, b in zip(start_params, fold_params))
  assert all(0 <= r[k] <= 1 for r in rows for k in ('annotated_iou_before', 'annotated_iou_after', 'mean_iou_after'))
  saved = json.loads((tmp_path / 'loo' / 'leave_one_out.json').read_text())
  assert [r['recording'] for r in saved] == ['nr_dummy']
  assert '| nr_dummy | NR |' in (tmp_path / 'loo' / 'leave_one_out.md').read_text()
  seen.clear()
  rows = leave_one_out.leave_one_recording_out(config, str(tmp_path / 'loo'), DUMMY, recordings_to_score=['nr_dummy'],
                                               always_excluded=['nr_dummy'])
  assert not seen and rows[0]['held_out']  # a finished fold is not trained again
  # a recording kept out of every fold: lte_dummy's fold would have nothing left to train on
  with pytest.raises(ValueError, match=r"exclude_recordings='lte_dummy,nr_dummy' leaves no frame of "
                                       r"spectrum_sensing/captured_128.* split 'train\+test'"):
    leave_one_out.leave_one_recording_out(config, str(tmp_path / 'loo2'), DUMMY, always_excluded=['nr_dummy'])
  with config.unlocked():
    config.exclude_recordings = 'nr_dumy'
  with pytest.raises(ValueError, match=r"exclude_recordings: \['nr_dumy'\] are recordings of no training dataset"):
    train.check_config(config)  # a misspelt name would leave its recording in training
  with config.unlocked():
    config.exclude_recordings = ''
  with pytest.raises(ValueError, match=r"no annotated recording named \['elsewhere'\]"):
    leave_one_out.leave_one_recording_out(config, str(tmp_path / 'loo'), DUMMY, recordings_to_score=['elsewhere'])
