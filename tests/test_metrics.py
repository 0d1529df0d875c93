"""Metrics against hand calculations (MATLAB evaluateSemanticSegmentation definitions)."""

import numpy as np
import pytest

from specsense_jax import metrics


def test_confusion_metrics_by_hand():
  y_true = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]])
  y_pred = np.array([[[0, 1, 1, 1], [0, 0, 1, 2]]])
  m = metrics.segmentation_metrics(y_true, y_pred, 3)
  np.testing.assert_array_equal(m['confusion_matrix'], [[3, 1, 0], [0, 3, 1], [0, 0, 0]])
  assert m['global_accuracy'] == 0.75
  np.testing.assert_allclose(m['class_accuracy'], [0.75, 0.75, np.nan])
  assert m['mean_accuracy'] == 0.75  # class 2 absent from the truth: not counted
  np.testing.assert_allclose(m['class_iou'], [0.75, 0.6, 0.0])  # class 2 predicted only: IoU 0, counted
  assert m['mean_iou'] == pytest.approx(0.45)
  assert m['weighted_iou'] == pytest.approx((4 * 0.75 + 4 * 0.6) / 8)


def test_class_absent_everywhere_is_not_counted():
  y = np.zeros((2, 4, 4), int)
  y[:, :, 2:] = 1
  m = metrics.segmentation_metrics(y, y, 3)
  assert m['mean_iou'] == 1.0 and np.isnan(m['class_iou'][2]) and m['mean_bf_score'] == 1.0
  assert np.isnan(m['class_bf_score'][2])


def _band(cols, size=100):
  mask = np.zeros((size, size), int)
  mask[:, cols[0]:cols[1] + 1] = 1
  return mask


def test_bf_score_tolerance_by_hand():
  # Tolerance 0.75 % of the diagonal of a 100x100 image = 1.06 px: a 1-column shift still matches exactly.
  truth = _band((3, 5))
  assert metrics.bf_scores(truth, _band((4, 6)), 2)[1] == 1.0
  # A 2-column shift: of 202 boundary pixels on each side, column 5 (100) and two pixels of the top and bottom
  # rows match, the others are 2 px away.
  assert metrics.bf_scores(truth, _band((5, 7)), 2)[1] == pytest.approx(102 / 202)


def test_bf_edge_cases():
  full = np.zeros((10, 10), int)
  # One class filling the image: its boundary is the image border (zero-padded erosion); identical -> 1.
  np.testing.assert_array_equal(metrics.bf_scores(full, full, 3), [1.0, np.nan, np.nan])
  with_nr = full.copy()
  with_nr[2:5, 2:5] = 1
  scores = metrics.bf_scores(with_nr, full, 3)  # class 1 only in the truth -> 0
  assert scores[1] == 0.0 and np.isnan(scores[2])
  # Image score = mean over scored classes; mean BF over images.
  m = metrics.segmentation_metrics(np.stack([with_nr, full]), np.stack([full, full]), 3)
  per_image = [np.nanmean(metrics.bf_scores(with_nr, full, 3)), 1.0]
  assert m['mean_bf_score'] == pytest.approx(np.mean(per_image))
  np.testing.assert_allclose(m['class_bf_score'][1], 0.0)


def test_streaming_equals_one_shot():
  rng = np.random.default_rng(0)
  y_true = rng.integers(0, 3, (6, 16, 16))
  y_pred = np.where(rng.random((6, 16, 16)) < 0.8, y_true, rng.integers(0, 3, (6, 16, 16)))
  acc = metrics.SegmentationAccumulator(3)
  for i in range(0, 6, 2):
    acc.update(y_true[i:i + 2], y_pred[i:i + 2])
  streamed, whole = acc.result(), metrics.segmentation_metrics(y_true, y_pred, 3)
  for key in ('global_accuracy', 'mean_iou', 'weighted_iou', 'mean_bf_score'):
    assert streamed[key] == pytest.approx(whole[key])


def test_bad_labels():
  with pytest.raises(ValueError, match=r'y_pred has labels outside \[0, 3\)'):
    metrics.confusion_matrix(np.zeros((2, 2), int), np.full((2, 2), 3), 3)
  with pytest.raises(ValueError, match='shapes differ'):
    metrics.confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 3)


def test_classification_metrics_by_hand():
  labels = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
  scores = np.array([[0.9, 0.2], [0.6, 0.4], [0.3, 0.1], [0.2, 0.7]])
  m = metrics.classification_metrics(labels, scores, class_names=['NR', 'LTE'])
  assert m['subset_accuracy'] == 0.75
  assert m['class_f1'] == {'NR': 1.0, 'LTE': pytest.approx(2 / 3)}
  assert m['class_recall']['LTE'] == 0.5 and m['class_precision']['LTE'] == 1.0
  assert m['class_accuracy'] == {'NR': 1.0, 'LTE': 0.75}
