"""What a model learns: per-pixel classes (segmentation) or which standards a frame holds (classification).

A `Task` bundles everything that differs between the two: the loss, what `predict` returns, the training
metrics, the evaluation accumulator and the validation metrics a run may select checkpoints on. The train
step, the training loop and the evaluation reports are written once against it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from specsense_jax import constants
from specsense_jax import metrics as metrics_lib
from specsense_jax.constants import NO_LABEL
from specsense_jax.models import registry

STANDARDS = constants.STANDARDS  # the frame classifiers' outputs: the first columns of the dataset's `signals`


def _labelled(labels: jax.Array, valid: jax.Array) -> jax.Array:
  """float32 (N, H, W): 1 for the pixels of valid examples that have a label (not `NO_LABEL`), else 0."""
  return (labels != NO_LABEL).astype(jnp.float32) * valid.astype(jnp.float32)[:, None, None]


def weighted_cross_entropy(logits: jax.Array, labels: jax.Array, class_weights: jax.Array,
                           valid: jax.Array) -> jax.Array:
  """Mean over labelled pixels of valid examples of class_weight[label] * softmax cross-entropy (MATLAB's
  weighted CE); pixels labelled `NO_LABEL` count neither in the sum nor in the mean's denominator."""
  labelled = _labelled(labels, valid)
  safe = jnp.where(labels == NO_LABEL, 0, labels)  # a label in range for the lookups; its weight is 0 below
  per_pixel = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), safe)
  # one-hot lookup rather than a gather: it keeps the batch sharding under explicit-sharding meshes
  weights = jnp.sum(jax.nn.one_hot(safe, class_weights.shape[0]) * class_weights, -1) * labelled
  return jnp.sum(per_pixel * weights) / jnp.maximum(jnp.sum(labelled), 1.0)


def _pixel_accuracy(logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
  labelled = _labelled(batch['mask'], batch['valid'])
  correct = (jnp.argmax(logits, -1) == batch['mask']) * labelled
  return {'pixel_accuracy': jnp.sum(correct) / jnp.maximum(jnp.sum(labelled), 1)}


def frame_labels(signals: jax.Array, num_classes: int) -> jax.Array:
  """The multi-label targets (N, num_classes) of a batch: which of NR, LTE each frame holds."""
  if num_classes > len(STANDARDS):
    raise ValueError(f'frame classifiers predict at most {len(STANDARDS)} standards {STANDARDS}; '
                     f'num_classes is {num_classes}')
  return signals[:, :num_classes]


def multilabel_cross_entropy(logits: jax.Array, labels: jax.Array, class_weights: jax.Array,
                             valid: jax.Array) -> jax.Array:
  """Mean over valid frames and classes of class_weight * sigmoid binary cross-entropy."""
  per_label = optax.sigmoid_binary_cross_entropy(logits.astype(jnp.float32), labels) * class_weights
  return jnp.sum(per_label * valid[:, None]) / jnp.maximum(jnp.sum(valid) * labels.shape[1], 1.0)


def _frame_accuracy(logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
  labels = frame_labels(batch['signals'], logits.shape[-1])
  correct = jnp.all((logits > 0) == (labels > 0.5), axis=-1) * batch['valid']
  return {'subset_accuracy': jnp.sum(correct) / jnp.maximum(jnp.sum(batch['valid']), 1)}


class _SegmentationAccumulator(metrics_lib.SegmentationAccumulator):
  def add(self, batch: dict[str, np.ndarray], predictions: np.ndarray) -> None:
    self.update(batch['mask'], predictions)


class ClassificationAccumulator:
  """Collects frame labels and scores; `result()` gives `metrics.classification_metrics`."""

  def __init__(self, num_classes: int):
    self.num_classes = num_classes
    self.labels, self.scores = [], []

  def add(self, batch: dict[str, np.ndarray], predictions: np.ndarray) -> None:
    self.labels.append(np.asarray(frame_labels(batch['signals'], self.num_classes)) > 0.5)
    self.scores.append(np.asarray(predictions))

  @property
  def count(self) -> int:
    return sum(len(s) for s in self.scores)

  def result(self) -> dict[str, Any]:
    labels = np.concatenate(self.labels) if self.labels else np.zeros((0, self.num_classes), bool)
    scores = np.concatenate(self.scores) if self.scores else np.zeros((0, self.num_classes))
    return metrics_lib.classification_metrics(labels, scores, class_names=STANDARDS[:self.num_classes])


@dataclasses.dataclass(frozen=True)
class Task:
  """How one kind of model is trained and judged.

  Attributes:
    name: 'segmentation' or 'classification'.
    loss: (logits, batch, class_weights) -> mean loss over the batch's valid examples.
    predictions: logits -> what `predict` returns (class ids per pixel, or per-standard probabilities).
    train_metrics: (logits, batch) -> scalars logged while training.
    accumulator: num_classes -> an object with `add(batch, predictions)`, `count` and `result()`.
    selection_metrics: validation metrics a run may select its best checkpoint on -> 'min' or 'max'.
    report_metrics: the scalar metrics of evaluation reports.
  """
  name: str
  loss: Callable[..., jax.Array]
  predictions: Callable[[jax.Array], jax.Array]
  train_metrics: Callable[..., dict[str, jax.Array]]
  accumulator: Callable[[int], Any]
  selection_metrics: dict[str, str]
  report_metrics: tuple[str, ...]

  def check_selection_metric(self, name: str) -> str:
    """'min' or 'max' for a selection metric, or a ValueError listing the allowed ones."""
    if name not in self.selection_metrics:
      raise ValueError(f'config.selection_metric for {self.name} must be one of '
                       f'{sorted(self.selection_metrics)}, got {name!r}')
    return self.selection_metrics[name]


SEGMENTATION = Task(
    name='segmentation',
    loss=lambda logits, batch, w: weighted_cross_entropy(logits, batch['mask'], w, batch['valid']),
    predictions=lambda logits: jnp.argmax(logits, -1).astype(jnp.int32),
    train_metrics=_pixel_accuracy,
    accumulator=_SegmentationAccumulator,
    selection_metrics={'loss': 'min', 'mean_iou': 'max', 'global_accuracy': 'max', 'mean_accuracy': 'max',
                       'weighted_iou': 'max', 'mean_bf_score': 'max'},
    report_metrics=('global_accuracy', 'mean_accuracy', 'mean_iou', 'weighted_iou', 'mean_bf_score'))

CLASSIFICATION = Task(
    name='classification',
    loss=lambda logits, batch, w: multilabel_cross_entropy(
        logits, frame_labels(batch['signals'], logits.shape[-1]), w, batch['valid']),
    predictions=lambda logits: jax.nn.sigmoid(logits.astype(jnp.float32)),
    train_metrics=_frame_accuracy,
    accumulator=ClassificationAccumulator,
    selection_metrics={'loss': 'min', 'subset_accuracy': 'max', 'mean_f1': 'max', 'mean_accuracy': 'max'},
    report_metrics=('subset_accuracy', 'mean_accuracy', 'mean_f1'))

TASKS = {task.name: task for task in (SEGMENTATION, CLASSIFICATION)}


def task_for_model(model: str) -> Task:
  """The task of a registered model (its `registry.model_info`)."""
  return TASKS[registry.model_info(model).task]


def class_names(config) -> tuple[str, ...]:
  """The names of a trained model's outputs, in output order, from its config (ConfigDict or dict).

  Training records them (`class_names` in config.json); configs written before that name none, and their
  outputs are the first `num_classes` of the MathWorks classes (segmentation) or of `STANDARDS` (frame
  classifiers).
  """
  recorded = config.get('class_names')
  num_classes = config.get('num_classes')
  if recorded:
    names = tuple(recorded)
    if num_classes is not None and len(names) != num_classes:
      raise ValueError(f'config records num_classes {num_classes} but {len(names)} class_names {names}')
    return names
  if num_classes is None:
    raise ValueError('config names neither num_classes nor class_names: not the config of a trained model')
  task = task_for_model(config['model'])
  names = STANDARDS if task is CLASSIFICATION else constants.CLASS_NAMES
  if num_classes > len(names):
    raise ValueError(f'num_classes {num_classes} exceeds the {len(names)} classes {names} of a {task.name} '
                     'model; the config must record its class_names')
  return tuple(names[:num_classes])
