"""Data-parallel steps: 8 simulated devices give the same losses and parameters as 1 device."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from specsense_jax import steps
from specsense_jax.models import build_model


def _batches(n, size=32, batch=8):
  rng = np.random.default_rng(0)
  for _ in range(n):
    images = rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
    masks = (images[..., 0] > 0.5).astype(np.int32) + (images[..., 1] > 0.7).astype(np.int32)
    yield {'image': images, 'mask': masks, 'valid': np.ones(batch, np.float32)}


def _run(devices):
  mesh = jax.make_mesh((len(devices),), ('data',), devices=devices)
  model = build_model('custom', 3, widths=(8, 16))
  tx = optax.sgd(0.05, momentum=0.9)
  state = steps.create_train_state(model, tx, jax.random.key(0), (32, 32, 3))
  train_step, predict, place = steps.make_steps(model, tx, mesh, [0.2, 0.3, 0.5])
  state = place(state)
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  losses = []
  for batch in _batches(3):
    state, metrics = train_step(state, jax.device_put(batch, sharding))
    losses.append(float(metrics['loss']))
  predictions = predict(state, jax.device_put(next(_batches(1))['image'], sharding))
  return losses, jax.device_get(state.params), np.asarray(predictions), state


def test_eight_devices_equal_one():
  losses1, params1, pred1, _ = _run(jax.devices()[:1])
  losses8, params8, pred8, state8 = _run(jax.devices())
  np.testing.assert_allclose(losses8, losses1, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(params8), jax.tree.leaves(params1)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  assert (pred8 == pred1).mean() > 0.999
  assert losses1[-1] < losses1[0]
  assert int(state8.step) == 3


def test_weighted_cross_entropy_by_hand():
  logits = jnp.array([[[[0.0, 0.0]]], [[[0.0, 0.0]]]])  # two 1x1 images, uniform over 2 classes
  labels = jnp.array([[[0]], [[1]]])
  loss = steps.weighted_cross_entropy(logits, labels, jnp.array([1.0, 3.0]), jnp.array([1.0, 1.0]))
  assert float(loss) == pytest.approx(np.log(2) * (1 + 3) / 2)
  masked = steps.weighted_cross_entropy(logits, labels, jnp.array([1.0, 3.0]), jnp.array([1.0, 0.0]))
  assert float(masked) == pytest.approx(np.log(2))
