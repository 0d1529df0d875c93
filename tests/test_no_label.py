"""Pixels labelled NO_LABEL (255: no data) count in no loss, metric or class weight; values by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax import constants
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


def test_no_label_counts_in_no_segmentation_metric():
  # The same labelled pixels with and without NO_LABEL pixels around them (whose prediction is a wrong class,
  # and whose value 255 would overflow a class count if taken for one) give the same metrics, by hand.
  truth = np.array([[[0, 0, 1, 1]]], np.uint8)
  pred = np.array([[[0, 1, 1, 1]]], np.uint8)
  padded_truth = np.concatenate([truth, np.full((1, 1, 4), NO_LABEL, np.uint8)], axis=1)
  padded_pred = np.concatenate([pred, np.ones((1, 1, 4), np.uint8)], axis=1)
  for t, p in ((truth, pred), (padded_truth, padded_pred)):
    result = metrics.segmentation_metrics(t, p, 2)
    np.testing.assert_array_equal(result['confusion_matrix'], [[1, 1], [0, 2]])
    assert result['global_accuracy'] == pytest.approx(3 / 4)
    assert result['mean_accuracy'] == pytest.approx((1 / 2 + 1) / 2)
    np.testing.assert_allclose(result['class_iou'], [1 / 2, 2 / 3])
    assert result['weighted_iou'] == pytest.approx((2 * 1 / 2 + 2 * 2 / 3) / 4)  # over 4 pixels, not 8


def test_median_frequency_weights_ignore_no_label_pixels():
  # Class 0: 3 of 3 labelled pixels, class 1: 1 of 4 labelled (the 255 pixels are in neither count).
  masks = [np.array([[[0, 0, 0, NO_LABEL]], [[0, 0, 0, 1]]], np.uint8)]
  pixels, image_pixels = optim.class_pixel_statistics(masks, 2)
  np.testing.assert_array_equal(pixels, [6, 1])
  np.testing.assert_array_equal(image_pixels, [7, 4])
  # freq = (6/7, 1/4), median 0.5535..: weights median/freq, normalized to sum 1.
  freq = np.array([6 / 7, 1 / 4])
  expected = np.median(freq) / freq
  np.testing.assert_allclose(optim.median_frequency_weights(pixels, image_pixels), expected / expected.sum(),
                             rtol=1e-6)


def test_to_model_classes_maps_truth_by_class_name():
  four, three = constants.FOUR_CLASSES, constants.MATHWORKS_CLASSES
  truth = np.array([[0, 1, 2, 3, NO_LABEL]], np.uint8)
  # a three-class model: Unknown truth is no-label; the rest and NO_LABEL keep their ids
  np.testing.assert_array_equal(metrics.to_model_classes(truth, four, three), [[0, 1, 2, NO_LABEL, NO_LABEL]])
  # same sets: unchanged; a four-class model on three-class truth: unchanged (it never sees Unknown truth)
  np.testing.assert_array_equal(metrics.to_model_classes(truth, four, four), truth)
  np.testing.assert_array_equal(metrics.to_model_classes(truth[:, [0, 1, 2, 4]], three, four), [[0, 1, 2, 255]])
  # by name, not by id: truth whose id 1 is LTE reaches a model whose LTE is 2; its NR-less truth has no 1
  np.testing.assert_array_equal(metrics.to_model_classes(np.array([0, 1, 0]), ('Noise', 'LTE'), three), [0, 2, 0])
  np.testing.assert_array_equal(metrics.class_map(four, three)[:5], [0, 1, 2, NO_LABEL, 4])
  with pytest.raises(ValueError, match=r"labels outside the truth classes \('Noise', 'NR', 'LTE'\) and 255 "
                                       r'\(no label\): \[3, 7\]'):
    metrics.to_model_classes(np.array([0, 3, 7, NO_LABEL]), three, four)


def test_three_class_model_on_four_class_truth_leaves_unknown_pixels_out():
  # A 2 x 4 truth with two Unknown pixels; the three-class model calls them Noise and NR. Hand count: 6 pixels
  # scored, 5 right (the NR pixel predicted Noise is the one error).
  truth = np.array([[[0, 0, 3, 1], [2, 2, 3, 1]]], np.uint8)
  pred = np.array([[[0, 0, 0, 0], [2, 2, 1, 1]]], np.uint8)
  names = constants.MATHWORKS_CLASSES
  result = metrics.segmentation_metrics(metrics.to_model_classes(truth, constants.FOUR_CLASSES, names), pred, 3)
  np.testing.assert_array_equal(result['confusion_matrix'], [[2, 0, 0], [1, 1, 0], [0, 0, 2]])
  assert result['global_accuracy'] == pytest.approx(5 / 6)
  np.testing.assert_allclose(result['class_iou'], [2 / 3, 1 / 2, 1.0])
  # A four-class model on three-class truth: its Unknown predictions are errors on the truth's classes.
  truth3 = np.array([[[0, 0, 1, 1]]], np.uint8)
  pred4 = np.array([[[0, 3, 1, 3]]], np.uint8)
  result = metrics.segmentation_metrics(
      metrics.to_model_classes(truth3, names, constants.FOUR_CLASSES), pred4, 4)
  assert result['global_accuracy'] == pytest.approx(1 / 2)
  assert result['confusion_matrix'][3].sum() == 0 and result['confusion_matrix'][:, 3].sum() == 2
  np.testing.assert_allclose(result['class_iou'], [1 / 2, 1 / 2, np.nan, 0.0])
