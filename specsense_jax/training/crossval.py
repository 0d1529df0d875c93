"""k-fold cross-validation: train on k-1 folds of the training split, test on the held-out fold.

Fold i of a run is selected with `config.fold = i` (so one fold is an ordinary run, and a sweep can run the
folds in parallel); `cross_validate` runs every fold in `workdir/fold_<i>` and summarizes them. Model selection
and early stopping use `config.eval_split`, which is disjoint from every fold, so the held-out fold's metrics
are unbiased.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import ml_collections
import numpy as np

from specsense_jax.training import tasks
from specsense_jax.training import train


def summarize(fold_metrics: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
  """Mean, sample standard deviation, min and max over folds of each scalar metric in `names`."""
  summary = {}
  for name in names:
    values = np.array([m[name] for m in fold_metrics], np.float64)
    summary[name] = {'mean': float(values.mean()), 'std': float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                     'min': float(values.min()), 'max': float(values.max()), 'folds': values.tolist()}
  return summary


def _markdown(summary: dict[str, Any], num_folds: int) -> str:
  lines = [f'# {num_folds}-fold cross-validation (held-out fold metrics of each fold\'s best checkpoint)', '',
           '| metric | mean | std | min | max | ' + ' | '.join(f'fold {i}' for i in range(num_folds)) + ' |',
           '|---|---|---|---|---|' + '---|' * num_folds]
  for name, s in summary.items():
    lines.append(f'| {name} | {s["mean"]:.4f} | {s["std"]:.4f} | {s["min"]:.4f} | {s["max"]:.4f} | '
                 + ' | '.join(f'{v:.4f}' for v in s['folds']) + ' |')
  return '\n'.join(lines) + '\n'


def cross_validate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains every fold of `config` in workdir/fold_<i> (finished folds are kept) and writes crossval.json/.md.

  Returns:
    {'num_folds', 'summary': {metric: {mean, std, min, max, folds}}}.
  """
  train.check_config(config)
  results = []
  for fold in range(config.num_folds):
    fold_config = ml_collections.ConfigDict(config.to_dict())
    fold_config.fold = fold
    fold_dir = os.path.join(workdir, f'fold_{fold}')
    done = os.path.join(fold_dir, 'test_metrics.json')
    if os.path.exists(done):
      with open(done) as f:
        results.append(json.load(f))
      train.say(f'fold {fold + 1}/{config.num_folds}: done before ({done})')
    else:
      train.say(f'fold {fold + 1}/{config.num_folds}: training in {fold_dir}')
      results.append(train.train_and_evaluate(fold_config, fold_dir))
  names = tasks.task_for_model(config.model).report_metrics
  report = {'num_folds': config.num_folds, 'summary': summarize(results, names)}
  for name, text in (('crossval.json', json.dumps(report, indent=1)),
                     ('crossval.md', _markdown(report['summary'], config.num_folds))):
    with open(os.path.join(workdir, name + '.tmp'), 'w') as f:
      f.write(text)
    os.replace(os.path.join(workdir, name + '.tmp'), os.path.join(workdir, name))
  means = ', '.join(f'{name} {s["mean"]:.4f} ± {s["std"]:.4f}' for name, s in report['summary'].items())
  train.say(f'{config.num_folds}-fold cross-validation: {means} -> {os.path.join(workdir, "crossval.md")}')
  return report
