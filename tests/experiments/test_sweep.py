"""Sweeps: a two-point sweep on the tiny dataset runs, is skipped on re-run, and is ranked by what the
workdirs recorded; bad sweep files fail before any point starts."""

import csv
import json
import os

import pytest

from specsense_jax.experiments import sweep


def _write(tmp_path, body: str) -> str:
  path = tmp_path / 'my_sweep.py'
  path.write_text(body)
  return str(path)


@pytest.fixture
def in_repo(monkeypatch, repo_dir):
  monkeypatch.chdir(repo_dir)  # sweep files name configs relative to the repository, as launch.sweep is run there


@pytest.mark.slow
def test_two_point_sweep_runs_skips_and_ranks(tiny_data_dir, tmp_path, in_repo):  # pylint: disable=unused-argument
  sweep_file = _write(tmp_path, f'''
def sweep(add):
  for lr in (0.3, 0.01):
    add('configs/default.py:runlocal', data_dir={tiny_data_dir!r}, max_steps=4, learning_rate=lr)
''')
  root = str(tmp_path / 'root')
  messages = []
  rows = sweep.run_sweep(sweep_file, root, parallel=2, log=messages.append)
  assert messages[0] == '2 points, 0 finished, 2 to run'
  assert [r['status'] for r in rows] == ['finished', 'finished']
  recorded = {}
  for row in rows:
    history = json.loads(open(os.path.join(root, row['name'], 'history.json')).read())
    recorded[row['name']] = max(e['val_mean_iou'] for e in history['epochs'])
    assert row['value'] == recorded[row['name']] and row['metric'] == 'val_mean_iou'
  assert [r['name'] for r in rows] == sorted(recorded, key=recorded.get, reverse=True)
  with open(os.path.join(root, 'results.csv')) as f:
    assert [r['name'] for r in csv.DictReader(f)] == [r['name'] for r in rows]
  assert '| 1 | ' + rows[0]['name'] in open(os.path.join(root, 'results.md')).read()
  best = json.loads(open(os.path.join(root, 'best_config.json')).read())
  assert best['learning_rate'] == float(rows[0]['overrides'].split('learning_rate=')[1].split()[0])
  messages.clear()
  again = sweep.run_sweep(sweep_file, root, log=messages.append)
  assert messages[0] == '2 points, 2 finished, 0 to run' and not any(m.startswith('start') for m in messages)
  assert [r['name'] for r in again] == [r['name'] for r in rows]


@pytest.mark.parametrize('body,message', [
    ('def points(add):\n  pass\n', 'must define sweep\\(add\\)'),
    ("def sweep(add):\n  add('configs/default.py', learnig_rate=0.1)\n", "unknown config key 'learnig_rate'"),
    ("def sweep(add):\n  add('configs/default.py', **{'model_kwargs.depth': 3})\n",
     "unknown config key 'model_kwargs.depth'"),
    ("def sweep(add):\n  add('configs/default.py', batch_size='big')\n", "bad value 'big' for 'batch_size'"),
    ("def sweep(add):\n  add('configs/default.py', learning_rate=0.1)\n  add('configs/default.py', learning_rate=0.1)\n",
     'point 2 .*duplicate of point'),
    ("def sweep(add):\n  add('configs/default.py', name='a')\n  add('configs/default.py', name='a', seed=1)\n",
     "duplicate point name 'a'"),
    ("def sweep(add):\n  add('configs/nosuch.py')\n", 'config file configs/nosuch.py not found'),
    ('def sweep(add):\n  pass\n', 'added no points'),
])
def test_bad_sweeps_fail_before_any_point_starts(tmp_path, in_repo, body, message):  # pylint: disable=unused-argument
  root = tmp_path / 'root'
  with pytest.raises(ValueError, match=message):
    sweep.run_sweep(_write(tmp_path, body), str(root), log=lambda _: None)
  assert not root.exists()


def test_shipped_sweeps_load(in_repo):  # pylint: disable=unused-argument
  models = sweep.load_sweep('configs/sweeps/models.py')
  assert [p.config.model for p in models] == ['custom'] + [f'deeplabv3plus_{e}' for e in (
      'resnet18', 'resnet50', 'mobilenetv2', 'efficientnet_b0')]
  folds = sweep.load_sweep('configs/sweeps/crossval.py')
  assert [p.config.fold for p in folds] == [0, 1, 2]
  command = folds[1].command('/runs/cv/fold_1', ['--distributed'])
  assert command[1:] == ['-m', 'launch.train', '--config=configs/default.py', '--workdir=/runs/cv/fold_1',
                         '--config.fold=1', '--config.num_folds=3', '--distributed']
