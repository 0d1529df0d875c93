"""Evaluation reports of a trained network (a training workdir, a packaged or a shipped model): all metrics, per SNR
band and per scene type, and a figure.

A model is scored in its own classes: on a dataset with classes it lacks (a three-class model on the
four-class realistic sets) those truth pixels are no-label and count nowhere (`metrics.to_model_classes`, applied
by the input pipeline); the report lists them under `unscored_classes`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np

from specsense_jax import plotting
from specsense_jax.data import pipeline
from specsense_jax.inference import trained_models
from specsense_jax.models import registry
from specsense_jax.training import evaluate
from specsense_jax.training import steps
from specsense_jax.training import tasks

SNR_BANDS = ((-np.inf, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, np.inf))
SCENES = {(True, False): 'NR only', (False, True): 'LTE only', (True, True): 'NR + LTE', (False, False): 'none'}


def _group_name(snr: float) -> str:
  for lo, hi in SNR_BANDS:
    if lo <= snr < hi:
      return f'SNR [{lo:g}, {hi:g}) dB'
  return 'SNR unknown'


def _groups(host: dict[str, np.ndarray]) -> list[tuple[str, str]]:
  """The SNR band and the scene type of each example of a host batch."""
  return [(_group_name(float(snr)) if np.isfinite(snr) else 'SNR unknown', SCENES[bool(sig[0]), bool(sig[1])])
          for snr, sig in zip(host['snr_db'], host['signals'])]


def evaluate_workdir(workdir: str, split: str = 'test', *, dataset: str | None = None, data_dir: str | None = None,
                     output_dir: str | None = None, truth: str = 'band') -> dict[str, Any]:
  """Evaluates the best checkpoint of `workdir` on `split` and writes report.json, report.md and (for
  segmentation) confusion_matrix.png to `output_dir` (default workdir/eval_<split>).

  Runs the same eval step and loop as training's validation (`training.evaluate`), on parameters and BatchNorm
  statistics restored without an optimizer, over every local device.
  """
  output_dir = output_dir or os.path.join(workdir, f'eval_{split.replace("[", "_").replace(":", "_").strip("]")}')
  return evaluate_model(workdir, split, dataset=dataset, data_dir=data_dir, output_dir=output_dir, truth=truth)


def evaluate_model(model: str, split: str = 'test', *, output_dir: str, dataset: str | None = None,
                   data_dir: str | None = None, truth: str = 'band') -> dict[str, Any]:
  """`evaluate_workdir` for any trained network: a workdir, a packaged model folder or a shipped model's name
  (`inference.trained_models`), on its training dataset or on `dataset` (for instance a shipped model on
  'spectrum_sensing/realistic_128'), against the band truth or, where the dataset has it, the occupancy truth
  (`truth`, a key of `pipeline.TRUTHS`)."""
  trained = trained_models.load(model)
  config = trained.config
  with config.unlocked():
    config.dataset = dataset or config.dataset
    config.data_dir = data_dir or config.get('data_dir')
  task = tasks.task_for_model(config.model)
  class_names = tasks.class_names(config)
  segmentation = task is tasks.SEGMENTATION
  if truth != 'band' and not segmentation:
    raise ValueError(f'truth={truth!r} scores masks: {config.model} is a {task.name} model')
  dataset_names = pipeline.dataset_class_names(pipeline.prepared_builder(config.dataset, config.data_dir))
  mesh = steps.data_mesh()
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  jitted = steps.make_steps(registry.build_from_config(config), None, mesh, np.ones(len(class_names)), task,
                            log_prior=trained.temperature * trained.log_prior)  # argmax of z / T + b
  variables = jitted.place_state(trained.variables)
  batch_size = max(jax.device_count(), (config.batch_size // jax.device_count()) * jax.device_count())
  ds = pipeline.input_pipeline(config.dataset, split, global_batch_size=batch_size, train=False,
                               data_dir=config.data_dir, cache=False,
                               class_names=class_names if segmentation else None, truth=truth)
  result = evaluate.evaluate_batches(jitted.eval_step, variables, pipeline.global_batches(ds, sharding), task,
                                     len(class_names), group_fn=_groups)
  report = {'workdir': model, 'dataset': config.dataset, 'split': split, 'truth': truth, 'task': task.name,
            'class_names': list(class_names), 'dataset_class_names': list(dataset_names),
            'unscored_classes': [n for n in dataset_names if n not in class_names] if segmentation else [],
            'num_images': result.count, **_summary(result.metrics, task, class_names),
            'groups': {name: {'num_images': group['num_images'], **_summary(group, task, class_names)}
                       for name, group in result.groups.items()}}
  os.makedirs(output_dir, exist_ok=True)
  with open(os.path.join(output_dir, 'report.json'), 'w') as f:
    json.dump(report, f, indent=1)
  with open(os.path.join(output_dir, 'report.md'), 'w') as f:
    f.write(_markdown(report, task))
  if task is tasks.SEGMENTATION:
    plotting.save_confusion_matrix(result.metrics['confusion_matrix'],
                                   os.path.join(output_dir, 'confusion_matrix.png'))
  return report


# Per-class entries of each task's reports, as (result key, column title).
_CLASS_COLUMNS = {
    'segmentation': (('class_accuracy', 'accuracy'), ('class_iou', 'IoU'), ('class_bf_score', 'BF')),
    'classification': (('class_accuracy', 'accuracy'), ('class_precision', 'precision'), ('class_recall', 'recall'),
                       ('class_f1', 'F1')),
}


def _summary(result: dict[str, Any], task: tasks.Task, class_names: tuple[str, ...]) -> dict[str, Any]:
  out = {k: result[k] for k in task.report_metrics}
  for key, _ in _CLASS_COLUMNS[task.name]:
    values = result[key]
    if not isinstance(values, dict):  # segmentation: arrays indexed by the model's class id
      values = dict(zip(class_names, np.asarray(values).tolist()))
    out[key] = {name: (None if v is None or np.isnan(v) else float(v)) for name, v in values.items()}
  if 'confusion_matrix' in result:
    out['confusion_matrix'] = np.asarray(result['confusion_matrix']).tolist()
  return out


def _markdown(report: dict[str, Any], task: tasks.Task) -> str:
  scalars = task.report_metrics
  truth = '' if report.get('truth', 'band') == 'band' else f', {report["truth"]} truth'
  lines = [f'# Evaluation: {report["dataset"]} / {report["split"]} ({report["num_images"]} images{truth})', '']
  if report['unscored_classes']:
    lines += [f'Truth pixels of {", ".join(report["unscored_classes"])} (classes the model lacks) are not scored.',
              '']
  lines += ['| subset | images | ' + ' | '.join(scalars) + ' |', '|---|---|' + '---|' * len(scalars)]
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
