"""Pixels labelled NO_LABEL (255: no data) count in no loss, metric or class weight; values by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax import metrics
from specsense_jax.constants import NO_LABEL
from specsense_jax.training import optim
from specsense_jax.training import tasks


def _batch():
  # Two examples of 1 x 3 pixels, two classes; the second example is padding (valid 0).
  labels = jnp.array([[[0, 1, NO_LABEL]], [[1, 1, 1]]], jnp.int32)
  logits = jnp.zeros((2, 1, 3, 2)).at[0, 0, 0].set(jnp.array([jnp.log(3.0), 0.0]))  # pixel 0: p(class 0) = 3/4
  return logits, labels, jnp.array([1.0, 0.0])


def test_weighted_cross_entropy_skips_no_label_pixels():
  logits, labels, valid = _batch()
  weights = jnp.array([1.0, 3.0])
  loss = jax.jit(tasks.weighted_cross_entropy)(logits, labels, weights, valid)
  # pixel 0: class 0, weight 1, -ln(3/4); pixel 1: class 1, weight 3, -ln(1/2); pixel 2 and the padded example:
  # nothing. Mean over the 2 labelled pixels.
  assert float(loss) == pytest.approx((np.log(4 / 3) + 3 * np.log(2)) / 2, rel=1e-6)
  grads = jax.grad(tasks.weighted_cross_entropy)(logits, labels, weights, valid)
  assert np.isfinite(grads).all() and not np.asarray(grads[0, 0, 2]).any()  # no gradient from the unlabelled pixel


def test_pixel_accuracy_skips_no_label_pixels():
  logits, labels, valid = _batch()
  accuracy = tasks.SEGMENTATION.train_metrics(logits, {'mask': labels, 'valid': valid})['pixel_accuracy']
  assert float(accuracy) == pytest.approx(0.5)  # argmax is class 0 everywhere: right on pixel 0 of 2 labelled


def test_confusion_matrix_and_metrics_skip_no_label():
  truth = np.array([[0, 1, NO_LABEL, 1]])
  pred = np.array([[0, 0, 1, NO_LABEL]])  # a prediction of 255 (no data) is left out as well
  np.testing.assert_array_equal(metrics.confusion_matrix(truth, pred, 2), [[1, 0], [1, 0]])
  with pytest.raises(ValueError, match=r'y_true has labels outside \[0, 2\): 0\.\.7'):
    metrics.confusion_matrix(np.array([0, 7]), np.array([0, 0]), 2)
  # A 6 x 6 truth whose right half has no data; the prediction is right on the left half and says anything on
  # the right: every metric is perfect (the BF scores see the same no-data edge in both).
  truth = np.zeros((1, 6, 6), np.uint8)
  truth[0, :, 1] = 1
  truth[0, :, 3:] = NO_LABEL
  pred = np.where(truth == NO_LABEL, 1, truth)
  result = metrics.segmentation_metrics(truth, pred, 2)
  assert result['global_accuracy'] == result['mean_iou'] == result['mean_bf_score'] == 1.0
  np.testing.assert_array_equal(result['confusion_matrix'], [[12, 0], [0, 6]])


def test_class_pixel_statistics_skip_no_label():
  masks = [np.array([[[0, 0, NO_LABEL], [1, NO_LABEL, NO_LABEL]],
                     [[0, 0, 0], [0, 0, 0]]], np.uint8)]
  pixels, image_pixels = optim.class_pixel_statistics(masks, 2)
  # class 0: 2 + 6 pixels in images of 3 and 6 labelled pixels; class 1: 1 pixel in the first image (3 labelled)
  np.testing.assert_array_equal(pixels, [8, 1])
  np.testing.assert_array_equal(image_pixels, [9, 3])
