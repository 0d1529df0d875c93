"""Segmentation metrics with MATLAB `evaluateSemanticSegmentation` definitions, and frame-classifier metrics.

C is the confusion matrix over all pixels of all images (rows = truth, columns = prediction).
GlobalAccuracy = trace(C) / sum(C); class accuracy_i = C_ii / sum_j C_ij (classes present in the truth);
IoU_i = C_ii / (sum_j C_ij + sum_j C_ji - C_ii); MeanIoU over classes present in truth or prediction;
WeightedIoU = sum_i truth_pixels_i * IoU_i / all pixels. BF (boundary F1) per image and class: boundary = mask
minus its 4-connected erosion (zero padded), tolerance 0.75 % of the image diagonal, a boundary pixel matches
when its distance to the other boundary is below it; a class absent from both masks is skipped, present on one
side only scores 0; an image's score is the mean over its scored classes; MeanBFScore is the mean over images.
Pixels labelled `NO_LABEL` (255: no data) in the truth count in no metric.

A model scored on data with other classes sees the truth through `to_model_classes`: truth classes the model
lacks (Unknown under a three-class model) become `NO_LABEL`, so they too count in no metric; classes the model
has but the data lacks never appear in the truth (predicting them is an error on the pixel's true class).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.ndimage

from specsense_jax.constants import NO_LABEL

BF_TOLERANCE = 0.0075  # of the image diagonal


def class_map(truth_names: Sequence[str], model_names: Sequence[str]) -> np.ndarray:
  """(256,) uint8 lookup table from a truth mask's class ids to a model's, matched by class name.

  Truth id i (the class `truth_names[i]`) maps to the model's id of that name, or to `NO_LABEL` when the model
  has no such class; `NO_LABEL` maps to itself; values outside the truth's ids map to themselves (the metrics'
  range checks then catch them). Identity when both sets are equal.
  """
  truth_names, model_names = list(truth_names), list(model_names)
  if len(truth_names) >= NO_LABEL or len(model_names) >= NO_LABEL:
    raise ValueError(f'class sets must have fewer than {NO_LABEL} classes, got {len(truth_names)} and '
                     f'{len(model_names)}')
  table = np.arange(256, dtype=np.uint8)
  for truth_id, name in enumerate(truth_names):
    table[truth_id] = model_names.index(name) if name in model_names else NO_LABEL
  return table


def to_model_classes(y_true: np.ndarray, truth_names: Sequence[str], model_names: Sequence[str]) -> np.ndarray:
  """`y_true` (class ids of `truth_names`, or `NO_LABEL`) in the class ids of `model_names` (see `class_map`).

  Raises a ValueError for a value that is neither a truth class id nor `NO_LABEL`.
  """
  y_true = np.asarray(y_true)
  if y_true.size:
    bad = (y_true < 0) | ((y_true >= len(truth_names)) & (y_true != NO_LABEL))
    if bad.any():
      raise ValueError(f'y_true has labels outside the truth classes {tuple(truth_names)} and {NO_LABEL} '
                       f'(no label): {sorted(set(np.unique(y_true[bad]).tolist()))}')
  return class_map(truth_names, model_names)[y_true.astype(np.int64)].astype(y_true.dtype)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
  """(num_classes, num_classes) int64 counts, rows = truth.

  Pixels where either mask is `NO_LABEL` (no data, or no prediction) are left out; any other label outside
  [0, num_classes) is an error.
  """
  y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
  if y_true.shape != y_pred.shape:
    raise ValueError(f'y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}')
  labelled = (y_true != NO_LABEL) & (y_pred != NO_LABEL)
  if not labelled.all():
    y_true, y_pred = y_true[labelled], y_pred[labelled]
  for name, y in (('y_true', y_true), ('y_pred', y_pred)):
    if y.size and (y.min() < 0 or y.max() >= num_classes):
      raise ValueError(f'{name} has labels outside [0, {num_classes}): {int(y.min())}..{int(y.max())}')
  flat = y_true.astype(np.int64).ravel() * num_classes + y_pred.astype(np.int64).ravel()
  return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def _boundary(mask: np.ndarray) -> np.ndarray:
  """Mask minus its 4-connected erosion with zero padding (so pixels on the image border are boundary)."""
  eroded = scipy.ndimage.binary_erosion(mask, structure=scipy.ndimage.generate_binary_structure(2, 1),
                                        border_value=0)
  return mask & ~eroded


def bf_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
  """(num_classes,) BF score of one (H, W) image per class; NaN where the class is absent from both masks."""
  height, width = y_true.shape
  tolerance = BF_TOLERANCE * np.hypot(height, width)
  scores = np.full(num_classes, np.nan)
  for c in range(num_classes):
    truth, pred = y_true == c, y_pred == c
    if not truth.any() and not pred.any():
      continue
    if not truth.any() or not pred.any():
      scores[c] = 0.0
      continue
    bt, bp = _boundary(truth), _boundary(pred)
    dist_to_truth = scipy.ndimage.distance_transform_edt(~bt)
    dist_to_pred = scipy.ndimage.distance_transform_edt(~bp)
    precision = np.mean(dist_to_truth[bp] < tolerance)
    recall = np.mean(dist_to_pred[bt] < tolerance)
    scores[c] = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
  return scores


def _nanmean(x, axis=None):
  x = np.asarray(x, np.float64)
  valid = ~np.isnan(x)
  count = valid.sum(axis=axis)
  total = np.where(valid, x, 0).sum(axis=axis)
  return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def metrics_from_confusion(confusion: np.ndarray) -> dict[str, Any]:
  """Accuracy and IoU metrics from a confusion matrix."""
  confusion = np.asarray(confusion, np.float64)
  truth = confusion.sum(axis=1)
  predicted = confusion.sum(axis=0)
  diagonal = np.diag(confusion)
  total = confusion.sum()
  with np.errstate(invalid='ignore', divide='ignore'):
    class_accuracy = np.where(truth > 0, diagonal / truth, np.nan)
    union = truth + predicted - diagonal
    class_iou = np.where(union > 0, diagonal / union, np.nan)
  return {
      'global_accuracy': float(diagonal.sum() / total) if total else float('nan'),
      'mean_accuracy': float(_nanmean(class_accuracy)),
      'mean_iou': float(_nanmean(class_iou)),
      'weighted_iou': float(np.nansum(truth * np.nan_to_num(class_iou)) / total) if total else float('nan'),
      'class_accuracy': class_accuracy,
      'class_iou': class_iou,
      'confusion_matrix': confusion.astype(np.int64),
  }


class SegmentationAccumulator:
  """Streaming segmentation metrics: feed batches with `update`, read `result()` at the end."""

  def __init__(self, num_classes: int, boundary_f1: bool = True):
    self.num_classes = num_classes
    self.boundary_f1 = boundary_f1
    self.confusion = np.zeros((num_classes, num_classes), np.int64)
    self.image_bf = []  # (num_classes,) per image, NaN where skipped
    self.count = 0  # images seen

  def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Adds a batch of (N, H, W) (or one (H, W)) integer masks."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 2:
      y_true, y_pred = y_true[None], y_pred[None]
    self.confusion += confusion_matrix(y_true, y_pred, self.num_classes)
    self.count += len(y_true)
    # Unlabelled truth pixels are unlabelled in the prediction too, so BF scores see the same no-data edges.
    y_pred = np.where(y_true == NO_LABEL, NO_LABEL, y_pred)
    if self.boundary_f1:
      self.image_bf.extend(bf_scores(t, p, self.num_classes) for t, p in zip(y_true, y_pred))

  def result(self) -> dict[str, Any]:
    out = metrics_from_confusion(self.confusion)
    if self.boundary_f1:
      per_image = np.array(self.image_bf).reshape(-1, self.num_classes)
      out['mean_bf_score'] = float(_nanmean(_nanmean(per_image, axis=1))) if len(per_image) else float('nan')
      out['class_bf_score'] = _nanmean(per_image, axis=0) if len(per_image) else np.full(self.num_classes, np.nan)
    return out


def segmentation_metrics(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, Any]:
  """All segmentation metrics of (N, H, W) integer truth and prediction masks (see the module docstring).

  Returns:
    global_accuracy, mean_accuracy, mean_iou, weighted_iou, mean_bf_score (floats); class_accuracy,
    class_iou, class_bf_score ((num_classes,) with NaN for classes that do not count); confusion_matrix.
  """
  accumulator = SegmentationAccumulator(num_classes)
  accumulator.update(y_true, y_pred)
  return accumulator.result()


def classification_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5,
                           class_names=None) -> dict[str, Any]:
  """Multi-label frame classification: which standards are present.

  Args:
    labels: (N, K) bool/0-1 truth.
    scores: (N, K) probabilities (after a sigmoid).
    threshold: decision threshold.
    class_names: optional names for the per-class dict keys.

  Returns:
    subset_accuracy (all K right), per-class accuracy/precision/recall/f1, and their means.
  """
  labels = np.asarray(labels).astype(bool)
  predicted = np.asarray(scores) >= threshold
  if labels.shape != predicted.shape:
    raise ValueError(f'labels and scores shapes differ: {labels.shape} vs {predicted.shape}')
  tp = (labels & predicted).sum(0).astype(np.float64)
  fp = (~labels & predicted).sum(0)
  fn = (labels & ~predicted).sum(0)
  with np.errstate(invalid='ignore', divide='ignore'):
    precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
    recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
  accuracy = (labels == predicted).mean(0)
  names = list(class_names) if class_names is not None else [str(k) for k in range(labels.shape[1])]
  return {
      'subset_accuracy': float((labels == predicted).all(1).mean()),
      'mean_accuracy': float(accuracy.mean()), 'mean_f1': float(_nanmean(f1)),
      'class_accuracy': dict(zip(names, accuracy.tolist())), 'class_precision': dict(zip(names, precision.tolist())),
      'class_recall': dict(zip(names, recall.tolist())), 'class_f1': dict(zip(names, f1.tolist())),
  }
