"""Schedules, SGDM with L2 and median-frequency class weights against hand calculations."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from specsense_jax.training import optim


def test_piecewise_drops_every_10_epochs():
  schedule = optim.learning_rate_schedule('piecewise', 0.02, steps_per_epoch=60, total_steps=60 * 20)
  assert float(schedule(0)) == pytest.approx(0.02)
  assert float(schedule(599)) == pytest.approx(0.02)
  assert float(schedule(600)) == pytest.approx(0.002)
  assert float(schedule(1199)) == pytest.approx(0.002)


def test_cosine_with_warmup():
  schedule = optim.learning_rate_schedule('cosine', 0.1, steps_per_epoch=10, total_steps=100, warmup_steps=10)
  assert float(schedule(0)) == 0.0 and float(schedule(10)) == pytest.approx(0.1)
  assert float(schedule(55)) == pytest.approx(0.05, abs=1e-6) and float(schedule(100)) == pytest.approx(0.0)
  with pytest.raises(ValueError, match='schedule'):
    optim.learning_rate_schedule('step', 0.1, 1, 1)


def test_sgdm_with_l2_by_hand():
  tx = optim.sgdm(optax.constant_schedule(0.1), momentum=0.9, l2=0.01)
  params = {'w': jnp.array([1.0])}
  state = tx.init(params)
  grads = {'w': jnp.array([0.5])}
  updates, state = tx.update(grads, state, params)  # g' = 0.5 + 0.01 * 1 = 0.51; v = 0.51; step -0.051
  assert float(updates['w'][0]) == pytest.approx(-0.051)
  updates, state = tx.update(grads, state, params)  # v = 0.9 * 0.51 + 0.51 = 0.969
  assert float(updates['w'][0]) == pytest.approx(-0.0969)


def test_median_frequency_weights_by_hand():
  # Two 4-pixel masks: [0,0,0,1] and [0,0,2,2].
  masks = np.array([[[0, 0], [0, 1]], [[0, 0], [2, 2]]])
  pixels, image_pixels = optim.class_pixel_statistics([masks], 3)
  np.testing.assert_array_equal(pixels, [5, 1, 2])
  np.testing.assert_array_equal(image_pixels, [8, 4, 4])
  # freq = [5/8, 1/4, 1/2], median 1/2 -> [0.8, 2, 1] / 3.8
  np.testing.assert_allclose(optim.median_frequency_weights(pixels, image_pixels), np.array([0.8, 2, 1]) / 3.8,
                             rtol=1e-6)
  np.testing.assert_allclose(optim.median_frequency_weights([4, 0, 4], [8, 0, 8]), [0.5, 0, 0.5])
