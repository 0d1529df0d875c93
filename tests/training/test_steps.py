"""Data-parallel steps: 8 simulated devices give the same losses and parameters as 1 device."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from specsense_jax.models import build_model
from specsense_jax.training import steps
from specsense_jax.training import tasks


def _batches(n, size=32, batch=8):
  rng = np.random.default_rng(0)
  for _ in range(n):
    images = rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
    masks = (images[..., 0] > 0.5).astype(np.int32) + (images[..., 1] > 0.7).astype(np.int32)
    signals = (rng.uniform(size=(batch, 3)) > 0.5).astype(np.float32)
    yield {'image': images, 'mask': masks, 'signals': signals, 'valid': np.ones(batch, np.float32)}


def _run(devices, model_name='custom', num_steps=3):
  mesh = steps.data_mesh(devices)
  task = tasks.task_for_model(model_name)
  if task is tasks.SEGMENTATION:
    model, weights = build_model('custom', 3, widths=(8, 16)), [0.2, 0.3, 0.5]
  else:
    model, weights = build_model(model_name, 2), [1.0, 1.0]
  # BatchNorm over 8 values per channel (a 1x1 final feature map) amplifies float rounding: 64x64 inputs give 32
  size = 32 if task is tasks.SEGMENTATION else 64
  tx = optax.sgd(0.05 if task is tasks.SEGMENTATION else 0.01, momentum=0.9)
  state = steps.create_train_state(model, tx, jax.random.key(0), (size, size, 3))
  start = jax.device_get(state.params)
  train_step, eval_step, place = steps.make_steps(model, tx, mesh, weights, task)
  state = place(state)
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  losses = []
  for batch in _batches(num_steps, size):
    state, metrics = train_step(state, jax.device_put(batch, sharding))
    losses.append(float(metrics['loss']))
  predictions, _ = eval_step(state.variables, jax.device_put(next(_batches(1, size)), sharding))
  params = jax.device_get(state.params)
  updates = jax.tree.map(lambda new, old: new - old, params, start)
  return losses, params, updates, np.asarray(predictions), state


@pytest.mark.parametrize('model_name', ['custom', 'classifier_resnet18'])
def test_eight_devices_equal_one(model_name):
  # 8 devices reduce BatchNorm statistics, the loss and the gradients in another order than 1: float32 rounding.
  # The classifier's BatchNorm over 32 values per channel (a 2x2 final feature map) and its random labels make
  # its training chaotic: the first update's leaves differ by up to 0.5 % of their norm with XLA's Eigen
  # convolutions (0.02 % with YNNPACK's), 2.4 % after two steps. So it is compared over one step, the segmentation
  # network over three. A wrong reduction (per-device statistics, a gradient summed instead of averaged) is off by
  # the update itself.
  num_steps = 3 if model_name == 'custom' else 1
  losses1, params1, updates1, pred1, _ = _run(jax.devices()[:1], model_name, num_steps)
  losses8, params8, updates8, pred8, state8 = _run(jax.devices(), model_name, num_steps)
  # Losses measured up to 7e-7 relative apart (1.4e-5 on another CPU, the reason rtol is 1e-4, not 1e-5), while
  # one step of training moves the loss by 1.7 % at least: a step on other data or another update shows.
  np.testing.assert_allclose(losses8, losses1, rtol=1e-4)
  errors = [np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)
            for a, b in zip(jax.tree.leaves(updates8), jax.tree.leaves(updates1))]
  assert max(errors) < 0.05
  if model_name == 'custom':  # well conditioned: every parameter alike, as before the classifier's change
    for a, b in zip(jax.tree.leaves(params8), jax.tree.leaves(params1)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert (pred8 == pred1).mean() > 0.999
    assert losses1[-1] < losses1[0]
  else:  # frame probabilities for NR and LTE (random labels here: nothing to learn)
    assert pred8.shape == (8, 2)
    np.testing.assert_allclose(pred8, pred1, atol=1e-4)  # measured 1.1e-5 apart with Eigen's convolutions
  assert int(state8.step) == num_steps


@pytest.mark.parametrize('model_name', ['custom', 'classifier_resnet18'])
def test_eval_step_gives_predictions_and_loss_of_one_forward_pass(model_name):
  task = tasks.task_for_model(model_name)
  model = build_model('custom', 3, widths=(8, 16)) if task is tasks.SEGMENTATION else build_model(model_name, 2)
  weights = jnp.array([0.2, 0.3, 0.5] if task is tasks.SEGMENTATION else [0.7, 1.3])
  mesh = steps.data_mesh()
  _, eval_step, place = steps.make_steps(model, None, mesh, weights, task)
  variables = steps.create_train_state(model, optax.sgd(0.1), jax.random.key(1), (32, 32, 3)).variables
  batch = next(_batches(1))
  batch['valid'][-2:] = 0  # padding rows count in neither the loss nor (by the caller) the metrics
  predictions, loss = eval_step(place(variables), jax.device_put(batch, jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec('data'))))
  logits = model.apply(variables, batch['image'], train=False)
  # rtol: the jitted step over 8 devices sums the loss in another order than this unsharded reference (float32
  # rounding, ~1e-7 relative); a loss over other rows or weights differs by percents
  np.testing.assert_allclose(float(loss), float(task.loss(logits, batch, weights)), rtol=1e-5)
  if task is tasks.SEGMENTATION:
    np.testing.assert_array_equal(predictions, np.argmax(logits, -1))
  else:
    np.testing.assert_allclose(predictions, jax.nn.sigmoid(logits), rtol=1e-5)


def test_data_mesh_has_auto_axes_over_the_devices():
  # Explicit axes (jax.make_mesh's default) make JAX 0.11 refuse to trace the loss's gradient (ShardingTypeError
  # in the transpose of the label gather); the steps shard through jit's in/out shardings instead.
  mesh = steps.data_mesh()
  assert mesh.axis_names == ('data',) and mesh.axis_types == (jax.sharding.AxisType.Auto,)
  assert list(mesh.devices.flat) == jax.devices()
  assert list(steps.data_mesh(jax.devices()[:2]).devices.flat) == jax.devices()[:2]


def test_ema_update_by_hand():
  ema, new = {'w': jnp.array([1.0, 3.0])}, {'w': jnp.array([2.0, 1.0])}
  # step 0: d = min(0.9, 1 / 10) = 0.1, so the average moves 90 % of the way
  np.testing.assert_allclose(steps.ema_update(ema, new, jnp.array(0), 0.9)['w'], [1.9, 1.2], rtol=1e-6)
  # step 200: d = min(0.9, 201 / 210) = 0.9
  np.testing.assert_allclose(steps.ema_update(ema, new, jnp.array(200), 0.9)['w'], [1.1, 2.8], rtol=1e-6)


def test_train_step_keeps_the_moving_average_of_its_variables():
  mesh = steps.data_mesh(jax.devices()[:1])
  model, tx = build_model('custom', 3, widths=(8, 16)), optax.sgd(0.05, momentum=0.9)
  state = steps.create_train_state(model, tx, jax.random.key(0), (32, 32, 3), ema=True)
  expected = jax.device_get(state.raw_variables)
  train_step, _, place = steps.make_steps(model, tx, mesh, [0.2, 0.3, 0.5], ema_decay=0.5)
  state = place(state)
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  for step, batch in enumerate(_batches(3)):
    state, _ = train_step(state, jax.device_put(batch, sharding))
    d = min(0.5, (1 + step) / (10 + step))
    expected = jax.tree.map(lambda e, v: d * e + (1 - d) * v, expected, jax.device_get(state.raw_variables))
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(jax.device_get(state.variables)), strict=True):
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
  assert state.variables is state.ema
  moved = [np.abs(a - b).max() for a, b in zip(jax.tree.leaves(jax.device_get(state.ema['params'])),
                                               jax.tree.leaves(jax.device_get(state.params)))]
  assert max(moved) > 1e-3  # the average lags the trained weights
  with pytest.raises(ValueError, match=r'ema_decay must be in \[0, 1\), got 1.0'):
    steps.make_steps(model, tx, mesh, [0.2, 0.3, 0.5], ema_decay=1.0)
