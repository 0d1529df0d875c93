"""A class prior for a packaged segmentation network: how much less often to call a rare class than its weighted
training taught it, chosen on a validation split under a bound on what it calls in real recordings.

Median-frequency weighting (`training.optim`) trains a network whose softmax estimates p(y | x) times the class
weight, renormalised: a class with 136 times the weight of Noise (Radar, a few pixels per frame) is called wherever
it is merely plausible, which on real NR captures means SS/PBCH bursts, one spectrogram row tall like a pulse.
Dividing that class's probability by a factor k (adding -log k to its logit, the logit adjustment of Menon et
al., 2021, "Long-tail learning via logit adjustment") undoes part of the weighting without retraining.

`select_class_prior` tries each factor of a grid and keeps the one with the class's best IoU on a validation
split among the factors under which no development recording (`io.catalog.HELD_OUT` excluded: they stay unseen)
has more than `bound` of its pixels called WLAN or Radar where neither is (the captures hold neither). The
recorded prior (`write_class_prior`) is applied by `predict` and by `reports.evaluate_model` after the
temperature (`TrainedModel.log_prior`); the band-plan prior multiplies on top of it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any, Sequence

import numpy as np

from specsense_jax import constants
from specsense_jax import metrics
from specsense_jax.data import pipeline
from specsense_jax.evaluation import captures as captures_lib
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import catalog
from specsense_jax.io import recordings
from specsense_jax.training import tasks

DIVISORS = (1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50)
BOUND = 0.005  # issue 18: under 0.5 % of a capture's pixels may be called WLAN or Radar


def _scaled_argmax(probabilities: np.ndarray, index: int, divisors: Sequence[float]) -> list[np.ndarray]:
  """The argmax of `probabilities` (..., C) with class `index` divided by each divisor (renormalising does not
  move an argmax)."""
  out = []
  for divisor in divisors:
    scaled = probabilities.copy()
    scaled[..., index] /= divisor
    out.append(np.argmax(scaled, -1))
  return out


def _validation_confusions(trained, dataset, split, data_dir, index, divisors, batch_size) -> np.ndarray:
  """(len(divisors), C, C) confusion matrices of `split` with the class's probability divided by each divisor."""
  count = len(trained.class_names)
  confusions = np.zeros((len(divisors), count, count), np.int64)
  ds = pipeline.input_pipeline(dataset, split, global_batch_size=batch_size, train=False, data_dir=data_dir,
                               cache=False, class_names=trained.class_names)
  for batch in ds.as_numpy_iterator():
    valid = batch['valid'] > 0
    images = np.round(batch['image'][valid] * 255).astype(np.uint8)
    probabilities = predict.image_probabilities(trained, images)
    for k, predicted in enumerate(_scaled_argmax(probabilities, index, divisors)):
      confusions[k] += metrics.confusion_matrix(batch['mask'][valid], predicted, count)
  return confusions


def _capture_confusions(trained, captures_dir, index, divisors) -> dict[str, np.ndarray]:
  """Per development recording, (len(divisors), C, C) confusion matrices under the band plan."""
  count = len(trained.class_names)
  out = {}
  with tempfile.TemporaryDirectory() as scratch:
    for path in captures_lib.annotated_recordings(captures_dir, scratch):
      recording = recordings.read_recording(path)
      if recording.name in catalog.HELD_OUT_NAMES:
        continue
      confusions = np.zeros((len(divisors), count, count), np.int64)
      for frame, _, probabilities, _, truth in captures_lib.scored_frames(trained, recording, band_plan=True):
        valid = frame.valid_rows[:, None] & frame.valid_columns[None, :]
        for k, predicted in enumerate(_scaled_argmax(probabilities, index, divisors)):
          confusions[k] += metrics.confusion_matrix(np.where(valid, truth, constants.NO_LABEL), predicted, count)
      out[recording.name] = confusions
  return out


def select_class_prior(model: str, class_name: str = 'Radar', *, captures_dir: str, dataset: str | None = None,
                       split: str = 'validation', data_dir: str | None = None,
                       divisors: Sequence[float] = DIVISORS, bound: float = BOUND,
                       batch_size: int = 16) -> dict[str, Any]:
  """Chooses how much to divide `class_name`'s probability by (see the module docstring).

  Args:
    model: a shipped model's name, a packaged folder or a training workdir (a six-class segmentation model).
    class_name: the class whose probability is divided.
    captures_dir: the annotated real recordings (`evaluation.captures.annotated_recordings`); the held-out ones
      are skipped.
    dataset: where the class's IoU is measured (default the model's training dataset); never a test split.
    split: that dataset's split.
    data_dir: TFDS data directory.
    divisors: the candidates (1: the network as trained).
    bound: the largest share of a development recording's pixels that may be called WLAN or Radar.
    batch_size: images per forward pass.

  Returns:
    {'class', 'divisor' (None when no candidate meets the bound), 'factor' (1 / divisor), 'dataset', 'split',
     'bound', 'candidates': per divisor {'divisor', 'iou' (the class's, on the split), 'mean_iou',
     'worst_called_bursty', 'worst_recording'}}; the model's recorded prior is ignored (candidates are absolute).
  """
  trained = trained_models.load(model)
  if tasks.task_for_model(trained.config.model) is not tasks.SEGMENTATION:
    raise ValueError(f'{model}: a class prior is for segmentation models, not {trained.config.model}')
  if class_name not in trained.class_names:
    raise ValueError(f'{model} has no class {class_name!r}; its classes are {trained.class_names}')
  if 'test' in split:
    raise ValueError(f'split {split!r}: the prior is chosen on a validation split, never on a test split')
  if not divisors or any(not d >= 1 for d in divisors):
    raise ValueError(f'divisors must be numbers >= 1 (1: as trained), got {list(divisors)}')
  config = trained.config.copy_and_resolve_references()
  with config.unlocked():
    config.class_prior = None
  trained = dataclasses.replace(trained, config=config)
  index = trained.class_names.index(class_name)
  dataset = dataset or trained.config.dataset
  data_dir = data_dir or trained.config.get('data_dir')
  validation = _validation_confusions(trained, dataset, split, data_dir, index, divisors, batch_size)
  per_recording = _capture_confusions(trained, captures_dir, index, divisors)
  if not per_recording:
    raise ValueError(f'{captures_dir}: no annotated development recording to bound the calls on')
  candidates = []
  for k, divisor in enumerate(divisors):
    result = metrics.metrics_from_confusion(validation[k])
    worst = max((captures_lib.called_bursty(c[k], trained.class_names) or 0.0, name)
                for name, c in per_recording.items())
    worst = worst if worst[0] > 0 else (0.0, None)  # none called anywhere: no recording is the worst
    candidates.append({'divisor': float(divisor), 'iou': _finite(result['class_iou'][index]),
                       'mean_iou': _finite(result['mean_iou']), 'worst_called_bursty': worst[0],
                       'worst_recording': worst[1]})
  allowed = [c for c in candidates if c['worst_called_bursty'] < bound]
  # the best IoU; on a tie the smallest change to the network as trained
  best = max(allowed, key=lambda c: (c['iou'] or 0.0, -c['divisor']), default=None)
  return {'class': class_name, 'divisor': best and best['divisor'], 'factor': best and 1 / best['divisor'],
          'dataset': dataset, 'split': split, 'bound': bound, 'recordings': sorted(per_recording),
          'candidates': candidates}


def _finite(value) -> float | None:
  return None if np.isnan(value) else float(value)


def write_class_prior(model: str, result: dict[str, Any]) -> str:
  """Records a selected prior (`select_class_prior`) in a packaged or shipped model's config.json (`class_prior`
  {class: factor}, replacing any prior there, as the selection measured without one; `class_prior_selection`);
  returns the path. Training workdirs are refused: package them first;
  a selection without a divisor is refused."""
  if result['divisor'] is None:
    raise ValueError(f'no divisor of {[c["divisor"] for c in result["candidates"]]} keeps every development '
                     f'recording under {result["bound"]:.2%} WLAN/Radar calls; nothing recorded')
  return trained_models.update_packaged_config(model, {
      'class_prior': {result['class']: round(result['factor'], 6)}, 'class_prior_selection': result})


def markdown_table(result: dict[str, Any]) -> str:
  """The candidates of a selection as a Markdown table, the chosen divisor marked."""
  lines = [f'| divisor of {result["class"]} | {result["class"]} IoU ({result["split"]}) | mean IoU | worst '
           'development capture called WLAN/Radar |', '|---|---|---|---|']
  for c in result['candidates']:
    mark = ' (chosen)' if c['divisor'] == result['divisor'] else ''
    iou = lambda v: '-' if v is None else f'{v:.3f}'
    lines.append(f'| {c["divisor"]:g}{mark} | {iou(c["iou"])} | {iou(c["mean_iou"])} | '
                 f'{c["worst_called_bursty"]:.2%} ({c["worst_recording"] or "none called"}) |')
  return '\n'.join(lines) + '\n'
