"""Train and eval steps: one `jax.jit` over a device mesh, batch sharded on 'data', state replicated.

This is the current form of pmap-style data parallelism: the same code runs on one CPU, 8 simulated devices,
a GPU host or a TPU pod slice (with `jax.distributed` and per-process input, see `data.global_batch`).
BatchNorm statistics are taken over the global batch, so results do not depend on the device count.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

P = jax.sharding.PartitionSpec


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def create_train_state(model: nn.Module, tx: optax.GradientTransformation, rng: jax.Array,
                       image_shape: tuple[int, ...]) -> TrainState:
  """Initializes parameters, BatchNorm statistics and optimizer state (on the host's default device)."""
  variables = jax.jit(model.init)(rng, jnp.zeros((1,) + tuple(image_shape), jnp.float32))
  params = variables['params']
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, batch_stats=variables.get('batch_stats', {}),
                    opt_state=tx.init(params))


def weighted_cross_entropy(logits: jax.Array, labels: jax.Array, class_weights: jax.Array,
                           valid: jax.Array) -> jax.Array:
  """Mean over valid pixels of class_weight[label] * softmax cross-entropy (MATLAB's weighted CE)."""
  per_pixel = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
  # one-hot lookup rather than a gather: it keeps the batch sharding under explicit-sharding meshes
  weights = jnp.sum(jax.nn.one_hot(labels, class_weights.shape[0]) * class_weights, -1) * valid[:, None, None]
  return jnp.sum(per_pixel * weights) / jnp.maximum(jnp.sum(valid) * labels.shape[1] * labels.shape[2], 1.0)


def _train_step(state: TrainState, batch: dict[str, jax.Array], *, model: nn.Module,
                tx: optax.GradientTransformation, class_weights: jax.Array) -> tuple[TrainState, dict]:
  def loss_fn(params):
    logits, updates = model.apply({'params': params, 'batch_stats': state.batch_stats}, batch['image'],
                                  train=True, mutable=['batch_stats'])
    loss = weighted_cross_entropy(logits, batch['mask'], class_weights, batch['valid'])
    return loss, (logits, updates['batch_stats'])

  (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  correct = (jnp.argmax(logits, -1) == batch['mask']) * batch['valid'][:, None, None]
  metrics = {'loss': loss, 'pixel_accuracy': jnp.sum(correct) / jnp.maximum(jnp.sum(batch['valid']) *
                                                                            correct.shape[1] * correct.shape[2], 1)}
  return TrainState(state.step + 1, params, batch_stats, opt_state), metrics


def _predict(state: TrainState, images: jax.Array, *, model: nn.Module) -> jax.Array:
  logits = model.apply({'params': state.params, 'batch_stats': state.batch_stats}, images, train=False)
  return jnp.argmax(logits, -1).astype(jnp.int32)


def make_steps(model: nn.Module, tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
               class_weights) -> tuple[Callable, Callable, Callable]:
  """Jitted (train_step, predict, place_state) for `mesh` (axis 'data').

  train_step(state, batch) -> (state, metrics) donates the old state; predict(state, images) -> (N, H, W)
  class ids; place_state(state) replicates a host state onto the mesh.
  """
  replicated = jax.sharding.NamedSharding(mesh, P())
  sharded = jax.sharding.NamedSharding(mesh, P('data'))
  weights = jnp.asarray(class_weights, jnp.float32)
  train_step = jax.jit(functools.partial(_train_step, model=model, tx=tx, class_weights=weights),
                       in_shardings=(replicated, sharded), out_shardings=(replicated, replicated),
                       donate_argnums=(0,))
  predict = jax.jit(functools.partial(_predict, model=model), in_shardings=(replicated, sharded),
                    out_shardings=sharded)
  place_state = lambda state: jax.device_put(state, replicated)
  return train_step, predict, place_state
