"""Hyperparameter sweeps: points defined in plain Python, each trained in its own workdir, then ranked.

A sweep file `configs/sweeps/<name>.py` defines

    def sweep(add):
      for lr in (0.05, 0.1):
        add('configs/default.py', learning_rate=lr)

where `add(config, name=None, **overrides)` takes a config spec ('path.py' or 'path.py:arg') and overrides of
its keys ('model_kwargs.output_stride' style keys go through `**{...}`). Everything is checked before any point
starts: the file defines `sweep`, every config loads, every override names an existing key with a value of
the right type, and no two points are the same. Each point runs `python -m launch.train` in `root/<name>`,
so an interrupted sweep resumes its interrupted points and skips finished ones (those with
`test_metrics.json`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from typing import Any, Callable, Sequence

import ml_collections


@dataclasses.dataclass(frozen=True)
class Point:
  """One sweep point: a config spec, its overrides, and the resulting config."""
  name: str
  config_spec: str
  overrides: tuple[tuple[str, Any], ...]
  config: ml_collections.ConfigDict = dataclasses.field(compare=False, repr=False)

  def command(self, workdir: str, extra_flags: Sequence[str] = ()) -> list[str]:
    """The `launch.train` command line of this point."""
    return ([sys.executable, '-m', 'launch.train', f'--config={self.config_spec}', f'--workdir={workdir}']
            + [f'--config.{k}={_flag_value(v)}' for k, v in self.overrides] + list(extra_flags))


def _flag_value(value: Any) -> str:
  return value if isinstance(value, str) else repr(value)


def _import_file(path: str, what: str):
  if not os.path.isfile(path):
    raise ValueError(f'{what} {path} not found')
  spec = importlib.util.spec_from_file_location(f'_specsense_{os.path.basename(path)[:-3]}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_config(spec: str) -> ml_collections.ConfigDict:
  """The config of 'path.py[:arg]' (what `--config=` takes)."""
  path, _, arg = spec.partition(':')
  module = _import_file(path, 'config file')
  if not hasattr(module, 'get_config'):
    raise ValueError(f'config file {path} has no get_config(arg)')
  return module.get_config(arg or None) if arg else module.get_config()


def _apply(config: ml_collections.ConfigDict, key: str, value: Any, where: str) -> None:
  *parents, leaf = key.split('.')
  node = config
  for part in parents:
    if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
      raise ValueError(f'{where}: unknown config key {key!r}')
    node = node[part]
  if leaf not in node:
    known = ', '.join(sorted(node.keys()))
    raise ValueError(f'{where}: unknown config key {key!r} (keys here: {known})')
  try:
    node[leaf] = value  # a locked ConfigDict still type-checks existing keys
  except TypeError as e:
    raise ValueError(f'{where}: bad value {value!r} for {key!r}: {e}') from None


def _default_name(spec: str, overrides: dict[str, Any]) -> str:
  path, _, arg = spec.partition(':')
  parts = [os.path.splitext(os.path.basename(path))[0]] + ([arg.replace('=', '-').replace(',', '_')] if arg else [])
  parts += [f'{k.split(".")[-1]}={_flag_value(v)}' for k, v in sorted(overrides.items())]
  name = '_'.join(parts)
  return ''.join(c if c.isalnum() or c in '-_=.' else '-' for c in name)


def load_sweep(path: str) -> list[Point]:
  """The points of a sweep file, all checked (see the module docstring); a ValueError names the problem."""
  module = _import_file(path, 'sweep file')
  if not callable(getattr(module, 'sweep', None)):
    raise ValueError(f'sweep file {path} must define sweep(add)')
  points: list[Point] = []

  def add(config: str = 'configs/default.py', name: str | None = None, **overrides):
    where = f'{path}, point {len(points) + 1} ({config} {overrides})'
    try:
      cfg = load_config(config)
    except ValueError as e:
      raise ValueError(f'{where}: {e}') from None
    for key, value in overrides.items():
      _apply(cfg, key, value, where)
    point = Point(name or _default_name(config, overrides), config, tuple(sorted(overrides.items())), cfg)
    for other in points:
      if other.config.to_json() == cfg.to_json():
        raise ValueError(f'{where}: duplicate of point {other.name!r} (same config)')
      if other.name == point.name:
        raise ValueError(f'{where}: duplicate point name {point.name!r}')
    points.append(point)

  module.sweep(add)
  if not points:
    raise ValueError(f'sweep file {path}: sweep(add) added no points')
  return points


def _best_validation(history: dict[str, Any], metric: str, mode: str) -> float | None:
  values = [e[metric] for e in history.get('epochs', []) if e.get(metric) is not None]
  if not values:
    return None
  return min(values) if mode == 'min' else max(values)


def collect_results(points: Sequence[Point], root: str, metric: str | None = None) -> list[dict[str, Any]]:
  """One row per point from what its workdir recorded, best first by the validation metric.

  Args:
    points: the sweep's points.
    root: the sweep's root directory.
    metric: a validation metric of history.json (e.g. 'val_mean_iou'); default: 'val_' + the points'
      selection_metric.
  """
  from specsense_jax.training import tasks  # pylint: disable=g-import-not-at-top
  rows = []
  for point in points:
    workdir = os.path.join(root, point.name)
    task = tasks.task_for_model(point.config.model)
    name = metric or f'val_{point.config.selection_metric}'
    mode = task.selection_metrics.get(name.removeprefix('val_'), 'max')
    group = ' '.join([point.config_spec] + [f'{k}={_flag_value(v)}' for k, v in point.overrides
                                             if k not in ('fold', 'num_folds')])
    row = {'name': point.name, 'config': point.config_spec, 'group': group,
           'overrides': ' '.join(f'{k}={_flag_value(v)}' for k, v in point.overrides), 'metric': name,
           'mode': mode, 'value': None, 'status': 'not started'}
    history_path = os.path.join(workdir, 'history.json')
    if os.path.exists(history_path):
      with open(history_path) as f:
        row['value'] = _best_validation(json.load(f), name, mode)
      row['status'] = 'running or interrupted'
    test_path = os.path.join(workdir, 'test_metrics.json')
    if os.path.exists(test_path):
      with open(test_path) as f:
        test = json.load(f)
      row['status'] = 'finished'
      row.update({f'test_{k}': test[k] for k in task.report_metrics if k in test})
    if os.path.exists(os.path.join(workdir, 'failed')):
      row['status'] = 'failed'
    rows.append(row)
  known = [r for r in rows if r['value'] is not None]
  known.sort(key=lambda r: r['value'] if r['mode'] == 'min' else -r['value'])
  return known + [r for r in rows if r['value'] is None]


def write_results(rows: Sequence[dict[str, Any]], root: str) -> None:
  """results.csv, results.md and best_config.json (the top point's config) in `root`, written atomically."""
  import csv  # pylint: disable=g-import-not-at-top
  import io  # pylint: disable=g-import-not-at-top
  columns = list(dict.fromkeys(k for r in rows for k in r))
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, columns)
  writer.writeheader()
  writer.writerows(rows)
  fmt = lambda v: f'{v:.4f}' if isinstance(v, float) else ('' if v is None else str(v))
  markdown = ['| rank | ' + ' | '.join(columns) + ' |', '|---|' + '---|' * len(columns)]
  markdown += [f'| {i + 1} | ' + ' | '.join(fmt(r.get(c)) for c in columns) + ' |' for i, r in enumerate(rows)]
  markdown += _fold_summary(rows)
  files = {'results.csv': buffer.getvalue(), 'results.md': '\n'.join(markdown) + '\n'}
  if rows and rows[0]['value'] is not None:
    with open(os.path.join(root, rows[0]['name'], 'config.json')) as f:
      files['best_config.json'] = f.read()
  for name, text in files.items():
    with open(os.path.join(root, name + '.tmp'), 'w') as f:
      f.write(text)
    os.replace(os.path.join(root, name + '.tmp'), os.path.join(root, name))


def _fold_summary(rows: Sequence[dict[str, Any]]) -> list[str]:
  """Markdown lines with mean and sample std over the folds of each group of cross-validation points."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  groups: dict[str, list[dict[str, Any]]] = {}
  for row in rows:
    if 'fold=' in row['overrides'] and row['status'] == 'finished':
      groups.setdefault(row['group'], []).append(row)
  lines = []
  for group, members in groups.items():
    if len(members) < 2:
      continue
    keys = ['value'] + sorted(k for k in members[0] if k.startswith('test_'))
    stats = {k: np.array([m[k] for m in members], np.float64) for k in keys}
    lines += ['', f'Across {len(members)} folds of `{group}` (mean ± sample std): ' + ', '.join(
        f'{members[0]["metric"] if k == "value" else k} {v.mean():.4f} ± {v.std(ddof=1):.4f}'
        for k, v in stats.items())]
  return lines


def run_sweep(sweep_file: str, root: str, *, parallel: int = 1, dry_run: bool = False,
              train_flags: Sequence[str] = (), metric: str | None = None,
              log: Callable[[str], None] = print) -> list[dict[str, Any]]:
  """Runs every unfinished point of `sweep_file` under `root` (`parallel` at a time) and ranks them.

  Returns:
    The results rows, best first (see `collect_results`). With `dry_run`, prints the commands and runs nothing.
  """
  points = load_sweep(sweep_file)
  if parallel < 1:
    raise ValueError(f'--parallel must be at least 1, got {parallel}')
  todo = [p for p in points if not os.path.exists(os.path.join(root, p.name, 'test_metrics.json'))]
  log(f'{len(points)} points, {len(points) - len(todo)} finished, {len(todo)} to run')
  if dry_run:
    for point in todo:
      log(' '.join(point.command(os.path.join(root, point.name), train_flags)))
    return collect_results(points, root, metric) if os.path.isdir(root) else []
  os.makedirs(root, exist_ok=True)
  _run_points(todo, root, parallel, train_flags, log)
  rows = collect_results(points, root, metric)
  write_results(rows, root)
  log(f'results: {os.path.join(root, "results.md")}')
  return rows


def _run_points(points: Sequence[Point], root: str, parallel: int, train_flags: Sequence[str],
                log: Callable[[str], None]) -> None:
  pending, running = list(points), []
  while pending or running:
    while pending and len(running) < parallel:
      point = pending.pop(0)
      workdir = os.path.join(root, point.name)
      os.makedirs(workdir, exist_ok=True)
      if os.path.exists(os.path.join(workdir, 'failed')):
        os.remove(os.path.join(workdir, 'failed'))
      log_file = open(os.path.join(workdir, 'train.log'), 'a')
      log(f'start {point.name}')
      running.append((point, log_file, subprocess.Popen(point.command(workdir, train_flags), stdout=log_file,
                                                        stderr=subprocess.STDOUT)))
    point, log_file, proc = running[0]
    try:
      proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
      running.append(running.pop(0))
      continue
    running.pop(0)
    log_file.close()
    workdir = os.path.join(root, point.name)
    if proc.returncode != 0:
      with open(os.path.join(workdir, 'failed'), 'w') as f:
        f.write(f'exit status {proc.returncode}; see train.log\n')
      log(f'FAILED {point.name} (exit {proc.returncode}, {os.path.join(workdir, "train.log")})')
    else:
      log(f'done {point.name}')
