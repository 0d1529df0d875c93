"""k-fold cross-validation: fold splits by hand, a 3-fold run on the tiny dataset, summary statistics."""

import json

import pytest

from specsense_jax.data import splits
from specsense_jax.training import crossval


def test_fold_splits_by_hand():
  assert splits.fold_splits('train', 16, 3, 0) == ('train[5:]', 'train[0:5]')  # bounds 0, 5, 11, 16
  assert splits.fold_splits('train', 16, 3, 1) == ('train[:5]+train[11:]', 'train[5:11]')
  assert splits.fold_splits('train', 16, 3, 2) == ('train[:11]', 'train[11:16]')
  with pytest.raises(ValueError, match=r'config.fold must be in \[0, 3\)'):
    splits.fold_splits('train', 16, 3, 3)
  with pytest.raises(ValueError, match='plain split name'):
    splits.fold_splits('train[:50%]', 16, 3, 0)
  with pytest.raises(ValueError, match='num_folds must be between 2'):
    splits.fold_splits('train', 16, 1, 0)


def test_summary_statistics():
  summary = crossval.summarize([{'m': 0.5}, {'m': 0.7}, {'m': 0.6}], ['m'])['m']
  assert summary['mean'] == pytest.approx(0.6) and summary['std'] == pytest.approx(0.1)
  assert (summary['min'], summary['max'], summary['folds']) == (0.5, 0.7, [0.5, 0.7, 0.6])


def test_three_folds_hold_out_every_training_frame_once(tiny_config, tmp_path):
  config = tiny_config(max_steps=1)
  report = crossval.cross_validate(config, str(tmp_path))
  # 16 training frames in folds of 5, 6 and 5: each fold's test metrics count its held-out frames' pixels
  held_out = [sum(map(sum, json.loads((tmp_path / f'fold_{i}' / 'test_metrics.json').read_text())
                      ['confusion_matrix'])) // (64 * 64) for i in range(3)]
  assert held_out == [5, 6, 5]
  fold_config = json.loads((tmp_path / 'fold_1' / 'config.json').read_text())
  assert (fold_config['train_split'], fold_config['test_split']) == ('train[:5]+train[11:]', 'train[5:11]')
  iou = report['summary']['mean_iou']
  folds = [json.loads((tmp_path / f'fold_{i}' / 'test_metrics.json').read_text())['mean_iou'] for i in range(3)]
  assert iou['folds'] == pytest.approx(folds) and iou['mean'] == pytest.approx(sum(folds) / 3)
  assert '| mean_iou |' in (tmp_path / 'crossval.md').read_text()
  # finished folds are not trained again
  (tmp_path / 'fold_0' / 'checkpoints').rename(tmp_path / 'moved')
  assert crossval.cross_validate(config, str(tmp_path))['summary'] == report['summary']
  assert not (tmp_path / 'fold_0' / 'checkpoints').exists()
