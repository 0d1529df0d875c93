"""Evaluation reports of a trained workdir: all metrics, per SNR band and per scene type, and a figure."""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import ml_collections  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import optax  # pylint: disable=g-import-not-at-top,wrong-import-position
import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top,wrong-import-position

from specsense_jax import data  # pylint: disable=g-import-not-at-top,wrong-import-position
from specsense_jax import optim  # pylint: disable=g-import-not-at-top,wrong-import-position
from specsense_jax import spectrogram  # pylint: disable=g-import-not-at-top,wrong-import-position
from specsense_jax import steps  # pylint: disable=g-import-not-at-top,wrong-import-position
from specsense_jax import tasks  # pylint: disable=g-import-not-at-top,wrong-import-position
from specsense_jax.models import registry  # pylint: disable=g-import-not-at-top,wrong-import-position

SNR_BANDS = ((-np.inf, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, np.inf))
SCENES = {(True, False): 'NR only', (False, True): 'LTE only', (True, True): 'NR + LTE', (False, False): 'none'}


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ValueError(f'{workdir} has no config.json: not a training workdir')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def restore_state(workdir: str, config: ml_collections.ConfigDict, which: str = 'best') -> steps.TrainState:
  """The best (or latest) checkpoint of a workdir as a TrainState on this host's first device.

  Works whatever topology trained it (a pod's checkpoint restores on a laptop): the target is given
  explicitly, on one local device.
  """
  model = registry.build_from_config(config)
  # a schedule (not a constant) so that the optimizer state has the structure training saved
  tx = optim.sgdm(lambda count: 0.0, config.momentum, config.l2)
  template = steps.create_train_state(model, tx, jax.random.key(0),
                                      (config.image_size, config.image_size, 3))
  directory = os.path.join(os.path.abspath(workdir), 'best' if which == 'best' else 'checkpoints')
  manager = ocp.CheckpointManager(directory)
  step = manager.best_step() if which == 'best' else manager.latest_step()
  if step is None:
    raise ValueError(f'no checkpoint in {directory}')
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), template)
  return manager.restore(step, args=ocp.args.StandardRestore(target))


def _group_name(snr: float) -> str:
  for lo, hi in SNR_BANDS:
    if lo <= snr < hi:
      return f'SNR [{lo:g}, {hi:g}) dB'
  return 'SNR unknown'


def evaluate_workdir(workdir: str, split: str = 'test', *, dataset: str | None = None, data_dir: str | None = None,
                     output_dir: str | None = None) -> dict[str, Any]:
  """Evaluates the best checkpoint of `workdir` on `split` and writes report.json, report.md and (for
  segmentation) confusion_matrix.png to `output_dir` (default workdir/eval_<split>)."""
  config = load_config(workdir)
  with config.unlocked():
    config.dataset = dataset or config.dataset
    config.data_dir = data_dir or config.data_dir
  task = tasks.task_for_model(config.model)
  state = restore_state(workdir, config)
  model = registry.build_from_config(config)
  mesh = jax.make_mesh((jax.device_count(),), ('data',))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  jitted = steps.make_steps(model, optax.sgd(0.0), mesh, np.ones(config.num_classes), task)
  state = jitted.place_state(state)
  batch_size = max(jax.device_count(), (config.batch_size // jax.device_count()) * jax.device_count())
  ds = data.input_pipeline(config.dataset, split, global_batch_size=batch_size, train=False,
                           data_dir=config.data_dir, cache=False)
  overall = task.accumulator(config.num_classes)
  groups: dict[str, Any] = {}
  for batch in data.global_batches(ds, sharding):
    host = data.to_host({k: v for k, v in batch.items() if k != 'image'})
    valid = host['valid'] > 0
    pred = data.to_host(jitted.predict(state, batch['image']))[valid]
    host = {k: v[valid] for k, v in host.items()}
    overall.add(host, pred)
    for i, (snr, sig) in enumerate(zip(host['snr_db'], host['signals'])):
      for name in (_group_name(float(snr)) if np.isfinite(snr) else 'SNR unknown',
                   SCENES[bool(sig[0]), bool(sig[1])]):
        groups.setdefault(name, task.accumulator(config.num_classes)).add(
            {k: v[i:i + 1] for k, v in host.items()}, pred[i:i + 1])
  result = overall.result()
  report = {'workdir': workdir, 'dataset': config.dataset, 'split': split, 'task': task.name,
            'num_images': overall.count, **_summary(result, task),
            'groups': {name: {'num_images': acc.count, **_summary(acc.result(), task)}
                       for name, acc in sorted(groups.items())}}
  output_dir = output_dir or os.path.join(workdir, f'eval_{split.replace("[", "_").replace(":", "_").strip("]")}')
  os.makedirs(output_dir, exist_ok=True)
  with open(os.path.join(output_dir, 'report.json'), 'w') as f:
    json.dump(report, f, indent=1)
  with open(os.path.join(output_dir, 'report.md'), 'w') as f:
    f.write(_markdown(report, task))
  if task is tasks.SEGMENTATION:
    _confusion_figure(result['confusion_matrix'], os.path.join(output_dir, 'confusion_matrix.png'))
  return report


# Per-class entries of each task's reports, as (result key, column title).
_CLASS_COLUMNS = {
    'segmentation': (('class_accuracy', 'accuracy'), ('class_iou', 'IoU'), ('class_bf_score', 'BF')),
    'classification': (('class_accuracy', 'accuracy'), ('class_precision', 'precision'), ('class_recall', 'recall'),
                       ('class_f1', 'F1')),
}


def _summary(result: dict[str, Any], task: tasks.Task) -> dict[str, Any]:
  out = {k: result[k] for k in task.report_metrics}
  for key, _ in _CLASS_COLUMNS[task.name]:
    values = result[key]
    if not isinstance(values, dict):  # segmentation: arrays indexed by class id
      values = dict(zip(spectrogram.CLASS_NAMES, np.asarray(values).tolist()))
    out[key] = {name: (None if v is None or np.isnan(v) else float(v)) for name, v in values.items()}
  if 'confusion_matrix' in result:
    out['confusion_matrix'] = np.asarray(result['confusion_matrix']).tolist()
  return out


def _markdown(report: dict[str, Any], task: tasks.Task) -> str:
  scalars = task.report_metrics
  lines = [f'# Evaluation: {report["dataset"]} / {report["split"]} ({report["num_images"]} images)', '',
           '| subset | images | ' + ' | '.join(scalars) + ' |', '|---|---|' + '---|' * len(scalars)]
  rows = [('all', report)] + list(report['groups'].items())
  fmt = lambda v: '–' if v is None or (isinstance(v, float) and np.isnan(v)) else f'{v:.4f}'
  for name, r in rows:
    lines.append(f'| {name} | {r["num_images"]} | ' + ' | '.join(fmt(r[k]) for k in scalars) + ' |')
  columns = _CLASS_COLUMNS[task.name]
  lines += ['', '| class | ' + ' | '.join(title for _, title in columns) + ' |', '|---|' + '---|' * len(columns)]
  for c in report[columns[0][0]]:
    lines.append(f'| {c} | ' + ' | '.join(fmt(report[key][c]) for key, _ in columns) + ' |')
  if task is tasks.SEGMENTATION:
    lines += ['', '![confusion matrix](confusion_matrix.png)']
  return '\n'.join(lines) + '\n'


def _confusion_figure(confusion: np.ndarray, path: str) -> None:
  confusion = np.asarray(confusion, np.float64)
  names = spectrogram.CLASS_NAMES[:confusion.shape[0]]
  normalized = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
  fig, ax = plt.subplots(figsize=(4, 3.5))
  ax.imshow(normalized, cmap='Blues', vmin=0, vmax=1)
  for i in range(len(names)):
    for j in range(len(names)):
      ax.text(j, i, f'{normalized[i, j]:.3f}', ha='center', va='center',
              color='white' if normalized[i, j] > 0.5 else 'black', fontsize=8)
  ax.set_xticks(range(len(names)), names)
  ax.set_yticks(range(len(names)), names)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
