"""Confidence calibration of a segmentation network: temperature scaling fitted on a validation split, and the
expected calibration error (ECE) of its per-pixel confidence.

A pixel's confidence is its largest class probability, softmax(logits / T); a calibrated network is right on
that share of the pixels it is that confident about. The ECE bins pixels by confidence (`NUM_BINS` equal bins)
and averages |accuracy - confidence| over the bins, weighted by their pixel counts (Guo et al., 2017, "On
Calibration of Modern Neural Networks", eq. 3). The temperature minimises the negative log-likelihood of the
truth on the split, as that paper fits it; pixels without a label (`NO_LABEL`) count nowhere. Prediction divides
the logits by the model's recorded `calibration_temperature` (`trained_models.TrainedModel.temperature`), so
the detections' confidences and the confidence panel of its figures are calibrated.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import scipy.optimize
import scipy.special

from specsense_jax.constants import NO_LABEL
from specsense_jax.data import pipeline
from specsense_jax.inference import trained_models

NUM_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)
_FIT_PIXELS = 400_000  # pixels the temperature is fitted on, drawn evenly (seeded) from the split


class CalibrationHistogram:
  """Per-bin pixel counts, summed confidences and correct pixels: the ECE of a stream of batches."""

  def __init__(self, num_bins: int = NUM_BINS):
    self.count = np.zeros(num_bins, np.int64)
    self.confidence = np.zeros(num_bins)
    self.correct = np.zeros(num_bins, np.int64)

  def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
    """probabilities (..., C) and int labels (...) of the same pixels; `NO_LABEL` pixels are skipped."""
    keep = labels != NO_LABEL
    confidence = probabilities.max(axis=-1)[keep]
    correct = probabilities.argmax(axis=-1)[keep] == labels[keep]
    bins = np.minimum((confidence * len(self.count)).astype(np.int64), len(self.count) - 1)
    self.count += np.bincount(bins, minlength=len(self.count))
    self.confidence += np.bincount(bins, confidence, minlength=len(self.count))
    self.correct += np.bincount(bins, correct, minlength=len(self.count)).astype(np.int64)

  def ece(self) -> float:
    """Σ_b n_b/N |acc_b - conf_b| (NaN without pixels)."""
    total = self.count.sum()
    if not total:
      return float('nan')
    return float(np.sum(np.abs(self.correct - self.confidence)) / total)

  def reliability(self) -> list[dict[str, float]]:
    """Per non-empty bin: its range, pixel share, mean confidence and accuracy (a reliability diagram's data)."""
    edges = np.linspace(0, 1, len(self.count) + 1)
    total = max(int(self.count.sum()), 1)
    return [{'bin': [float(edges[b]), float(edges[b + 1])], 'share': float(self.count[b] / total),
             'confidence': float(self.confidence[b] / self.count[b]),
             'accuracy': float(self.correct[b] / self.count[b])}
            for b in range(len(self.count)) if self.count[b]]


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, num_bins: int = NUM_BINS) -> float:
  """ECE of per-pixel confidences: probabilities (..., C), labels (...) (`NO_LABEL` skipped)."""
  histogram = CalibrationHistogram(num_bins)
  histogram.add(np.asarray(probabilities), np.asarray(labels))
  return histogram.ece()


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
  """The temperature T in `TEMPERATURE_RANGE` minimising the mean NLL of `labels` (N,) under softmax(logits / T)
  (N, C); `NO_LABEL` labels are skipped."""
  keep = labels != NO_LABEL
  logits, labels = np.asarray(logits, np.float64)[keep], np.asarray(labels)[keep]
  if not len(labels):
    raise ValueError('fit_temperature: no labelled pixels')

  def nll(log_t):
    scaled = logits / np.exp(log_t)
    return float(np.mean(scipy.special.logsumexp(scaled, axis=1) - scaled[np.arange(len(labels)), labels]))

  lo, hi = np.log(TEMPERATURE_RANGE)
  return float(np.exp(scipy.optimize.minimize_scalar(nll, bounds=(lo, hi), method='bounded',
                                                     options={'xatol': 1e-4}).x))


def _logits_fn(model):
  return jax.jit(lambda variables, images: model.apply(variables, images, train=False))


def calibrate(model: str, split: str = 'validation', *, dataset: str | None = None, data_dir: str | None = None,
              test_split: str | None = 'test', batch_size: int = 16, seed: int = 0) -> dict[str, Any]:
  """Fits the temperature of `model` on `split` and measures the ECE there and on `test_split`.

  Args:
    model: a shipped model's name, a packaged folder or a training workdir.
    split: where the temperature is fitted (a validation split: never the test split).
    dataset: default the model's training dataset.
    data_dir: TFDS data directory.
    test_split: also measured with the fitted temperature (None: skipped).
    batch_size: images per forward pass.
    seed: which pixels the fit uses.

  Returns:
    {'temperature', 'dataset', 'fit_split', 'fit': {'ece_before', 'ece_after', 'pixels'}, 'test': {... same,
     'reliability_after'}}; ECEs with T = 1 (before) and the fitted T (after).
  """
  trained = trained_models.load(model)
  config = trained.config
  dataset = dataset or config.dataset
  data_dir = data_dir or config.get('data_dir')
  apply = _logits_fn(trained.model)

  def batches(which):
    ds = pipeline.input_pipeline(dataset, which, global_batch_size=batch_size, train=False, data_dir=data_dir,
                                 cache=False, class_names=trained.class_names)
    for batch in ds.as_numpy_iterator():
      valid = batch['valid'] > 0
      logits = np.asarray(apply(trained.variables, batch['image']), np.float64)[valid]
      yield logits / trained.temperature, batch['mask'][valid]  # relative to the model's current temperature

  rng = np.random.default_rng(seed)
  kept_logits, kept_labels, before, count = [], [], CalibrationHistogram(), 0
  for logits, labels in batches(split):
    flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    before.add(scipy.special.softmax(flat_logits, axis=1), flat_labels)
    take = rng.random(len(flat_labels)) < _FIT_PIXELS / (len(flat_labels) * 25)  # ~25 batches' worth
    kept_logits.append(flat_logits[take])
    kept_labels.append(flat_labels[take])
    count += int(np.count_nonzero(flat_labels != NO_LABEL))
  relative = fit_temperature(np.concatenate(kept_logits), np.concatenate(kept_labels))
  result = {'temperature': relative * trained.temperature, 'dataset': dataset, 'fit_split': split,
            'fit': {'ece_before': before.ece(), 'pixels': count}}
  after = CalibrationHistogram()
  for logits, labels in batches(split):
    after.add(scipy.special.softmax(logits / relative, axis=-1), labels)
  result['fit']['ece_after'] = after.ece()
  if test_split:
    test_before, test_after = CalibrationHistogram(), CalibrationHistogram()
    for logits, labels in batches(test_split):
      test_before.add(scipy.special.softmax(logits, axis=-1), labels)
      test_after.add(scipy.special.softmax(logits / relative, axis=-1), labels)
    result['test'] = {'split': test_split, 'ece_before': test_before.ece(), 'ece_after': test_after.ece(),
                      'pixels': int(test_after.count.sum()), 'reliability_after': test_after.reliability()}
  return result


def write_temperature(model: str, result: dict[str, Any]) -> str:
  """Records a calibration (`calibrate`) in a packaged or shipped model's config.json (`calibration_temperature`,
  `calibration`); returns the path. Training workdirs are refused: package them first, and so are models with a
  class prior (`evaluation.class_prior`), which was chosen under the temperature they had: calibrate first."""
  if trained_models.packaged_config(model)[1].get('class_prior'):  # the config alone, not the weights
    raise ValueError(f'{model} has a class_prior, chosen under its current temperature; calibrate before choosing '
                     'it (launch.calibrate, then launch.select_prior)')
  return trained_models.update_packaged_config(model, {
      'calibration_temperature': round(float(result['temperature']), 5),
      'calibration': {k: v for k, v in result.items() if k != 'temperature'}})
