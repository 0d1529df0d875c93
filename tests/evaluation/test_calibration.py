"""Calibration: the ECE by hand, a known temperature recovered, and a fitted temperature recorded in a packaged
model, which prediction then applies."""

import shutil

import numpy as np
import pytest
import scipy.special

from specsense_jax import frames
from specsense_jax.constants import FRAME_S
from specsense_jax.constants import MODEL_RATE
from specsense_jax.constants import NO_LABEL
from specsense_jax.evaluation import calibration
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models


def test_ece_by_hand():
  probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
  labels = np.array([0, 1, 1, NO_LABEL])
  # bin of 0.9 (two pixels, one right): |0.5 - 0.9|; bin of 0.6 (one, right): |1 - 0.6|; the unlabelled one skipped
  expected = 2 / 3 * 0.4 + 1 / 3 * 0.4
  assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(expected)
  histogram = calibration.CalibrationHistogram()
  histogram.add(probabilities[:2], labels[:2])
  histogram.add(probabilities[2:], labels[2:])  # streaming gives the same
  assert histogram.ece() == pytest.approx(expected)
  assert [b['share'] for b in histogram.reliability()] == pytest.approx([1 / 3, 2 / 3])


def test_fit_temperature_recovers_the_generating_temperature():
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 3, (100_000, 4))
  for temperature in (0.5, 2.5):
    p = scipy.special.softmax(logits / temperature, axis=1)
    labels = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)  # labels drawn from softmax(z / T)
    labels[:1000] = NO_LABEL
    assert calibration.fit_temperature(logits, labels) == pytest.approx(temperature, rel=0.03)
  with pytest.raises(ValueError, match='no labelled pixels'):
    calibration.fit_temperature(logits[:2], np.array([NO_LABEL, NO_LABEL]))


def test_calibrate_and_record_in_a_packaged_model(tiny_data_dir, tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained_models.resolve(trained_models.DEFAULT), model_dir)
  result = calibration.calibrate(model_dir, 'train', dataset='spectrum_sensing/synthetic_tiny',
                                 data_dir=tiny_data_dir, test_split='validation', batch_size=8)
  low, high = calibration.TEMPERATURE_RANGE
  assert low < result['temperature'] < high and result['fit']['pixels'] > 0
  assert result['fit']['ece_after'] <= result['fit']['ece_before'] + 1e-6
  assert 0 <= result['test']['ece_after'] <= 1 and result['test']['reliability_after']
  calibration.write_temperature(model_dir, result)
  trained = trained_models.load(model_dir)
  assert trained.temperature == pytest.approx(result['temperature'], rel=1e-4)
  # a second fit, relative to the recorded temperature, stays where it is
  again = calibration.calibrate(model_dir, 'train', dataset='spectrum_sensing/synthetic_tiny',
                                data_dir=tiny_data_dir, test_split=None, batch_size=8)
  assert again['temperature'] == pytest.approx(result['temperature'], rel=0.02)
  with pytest.raises(ValueError, match='not a packaged model'):
    calibration.write_temperature(str(tmp_path), result)


def test_prediction_applies_the_recorded_temperature(tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained_models.resolve(trained_models.DEFAULT), model_dir)
  calibration.write_temperature(model_dir, {'temperature': 2.0, 'fit_split': 'validation'})
  image = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
  frame = frames.Frame(0, image, 0.0, FRAME_S, 0.0, MODEL_RATE, np.ones(128, bool), np.ones(128, bool))
  default = trained_models.load(trained_models.DEFAULT)
  _, _, raw = next(predict.predict_frames(default, [frame]))
  _, _, calibrated = next(predict.predict_frames(trained_models.load(model_dir), [frame]))
  # softmax(z / 2) from softmax(z / T0), T0 the default's own temperature: log-probabilities are z / T0 up to a
  # constant per pixel
  np.testing.assert_allclose(calibrated, scipy.special.softmax(np.log(raw) * default.temperature / 2.0, axis=-1),
                             atol=2e-4)
