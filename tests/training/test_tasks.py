"""Task losses, predictions and accumulators against hand calculations."""

import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax.training import tasks


def test_weighted_cross_entropy_by_hand():
  logits = jnp.array([[[[0.0, 0.0]]], [[[0.0, 0.0]]]])  # two 1x1 images, uniform over 2 classes
  labels = jnp.array([[[0]], [[1]]])
  loss = tasks.weighted_cross_entropy(logits, labels, jnp.array([1.0, 3.0]), jnp.array([1.0, 1.0]))
  assert float(loss) == pytest.approx(np.log(2) * (1 + 3) / 2)
  masked = tasks.weighted_cross_entropy(logits, labels, jnp.array([1.0, 3.0]), jnp.array([1.0, 0.0]))
  assert float(masked) == pytest.approx(np.log(2))


def test_multilabel_cross_entropy_by_hand():
  # Frame 1: NR present (logit 0: log 2), LTE absent (logit log 3: -log(1 - 3/4) = log 4).
  # Frame 2 is padding and must not count.
  logits = jnp.array([[0.0, np.log(3.0)], [5.0, -5.0]])
  signals = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
  batch = {'signals': signals, 'valid': jnp.array([1.0, 0.0])}
  loss = tasks.CLASSIFICATION.loss(logits, batch, jnp.array([1.0, 2.0]))
  assert float(loss) == pytest.approx((np.log(2) + 2 * np.log(4)) / 2, rel=1e-6)
  np.testing.assert_allclose(tasks.CLASSIFICATION.predictions(logits)[0], [0.5, 0.75], rtol=1e-6)


def test_classification_accumulator_and_train_metric():
  accumulator = tasks.CLASSIFICATION.accumulator(2)
  signals = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 0]], np.float32)
  scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.7], [0.1, 0.4]])
  accumulator.add({'signals': signals[:2]}, scores[:2])
  accumulator.add({'signals': signals[2:]}, scores[2:])
  result = accumulator.result()
  assert accumulator.count == 4
  # frames 1 and 4 right; frame 2 misses LTE; frame 3 has a false NR
  assert result['subset_accuracy'] == pytest.approx(0.5)
  assert result['class_f1']['NR'] == pytest.approx(2 * 2 / (2 * 2 + 1 + 0))
  assert result['class_f1']['LTE'] == pytest.approx(2 * 1 / (2 * 1 + 0 + 1))
  logits = jnp.log(scores / (1 - scores))
  metric = tasks.CLASSIFICATION.train_metrics(logits, {'signals': signals, 'valid': jnp.ones(4)})
  assert float(metric['subset_accuracy']) == pytest.approx(0.5)


def test_task_for_model_and_selection_metrics():
  assert tasks.task_for_model('classifier_resnet18') is tasks.CLASSIFICATION
  assert tasks.task_for_model('deeplabv3plus_resnet18') is tasks.SEGMENTATION
  assert tasks.SEGMENTATION.check_selection_metric('mean_iou') == 'max'
  assert tasks.CLASSIFICATION.check_selection_metric('loss') == 'min'
  with pytest.raises(ValueError, match="selection_metric for classification must be one of .*'subset_accuracy'"):
    tasks.CLASSIFICATION.check_selection_metric('mean_iou')
  with pytest.raises(ValueError, match='at most 2 standards'):
    tasks.frame_labels(jnp.zeros((1, 3)), 3)
