"""Train and eval steps: one `jax.jit` over a device mesh, batch sharded on 'data', state replicated.

This is the current form of pmap-style data parallelism: the same code runs on one CPU, 8 simulated devices,
a GPU host or a TPU pod slice (with `jax.distributed` and per-process input, see `data.global_batch`).
BatchNorm statistics are taken over the global batch, so results do not depend on the device count.

`make_steps` is the only place the model is applied for training and evaluation: `train_step` (the loss, its
gradient and the optimizer update) and `eval_step` (the task's predictions and the loss from one forward pass).
Validation, test evaluation, `launch.evaluate` and the model benchmark all run these two functions.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from specsense_jax import xla_cpu
from specsense_jax.training import tasks

P = jax.sharding.PartitionSpec


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """A one-axis mesh 'data' over `devices` (default: all), its axis Auto.

  Auto, not `jax.make_mesh`'s default Explicit: the steps place data with jit's in/out shardings, and under
  Explicit axes (sharding in types) JAX 0.11 cannot trace the loss's gradient (the transpose of optax's label
  gather is a scatter whose output sharding it refuses to infer: ShardingTypeError, seen on a GPU host).
  """
  devices = list(jax.devices() if devices is None else devices)
  return jax.make_mesh((len(devices),), ('data',), axis_types=(jax.sharding.AxisType.Auto,), devices=devices)


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  # {'params', 'batch_stats'}: their exponential moving average over the steps, or None without one. Evaluated,
  # checkpointed as the run's weights and packaged in place of the raw ones.
  ema: Any = None

  @property
  def variables(self) -> dict[str, Any]:
    """{'params', 'batch_stats'}: what `eval_step` takes (the moving average when the run keeps one)."""
    return self.ema if self.ema is not None else self.raw_variables

  @property
  def raw_variables(self) -> dict[str, Any]:
    """{'params', 'batch_stats'} the optimizer trains: what `model.apply` in the train step takes."""
    return {'params': self.params, 'batch_stats': self.batch_stats}

  def with_variables(self, variables: dict[str, Any]) -> 'TrainState':
    """This state with new parameters and BatchNorm statistics (pretrained or grown ones); the average, if kept,
    starts from them."""
    state = self.replace(params=variables['params'], batch_stats=variables['batch_stats'])
    return state.replace(ema=_average_start(state)) if state.ema is not None else state


def _average_start(state: TrainState) -> dict[str, Any]:
  """A moving average that starts at the state's variables: copies, as the donated train state cannot hold one
  buffer twice."""
  return jax.tree.map(jnp.copy, state.raw_variables)


def create_train_state(model: nn.Module, tx: optax.GradientTransformation, rng: jax.Array,
                       image_shape: tuple[int, ...], *, ema: bool = False) -> TrainState:
  """Initializes parameters, BatchNorm statistics and optimizer state (on the host's default device).

  Args:
    model: the network.
    tx: its optimizer.
    rng: the initialization key.
    image_shape: (height, width, channels) of one image.
    ema: whether the state keeps a moving average of the variables (`ema_update`), starting at the initial ones.
  """
  variables = jax.jit(model.init)(rng, jnp.zeros((1,) + tuple(image_shape), jnp.float32))
  params = variables['params']
  state = TrainState(step=jnp.zeros((), jnp.int32), params=params, batch_stats=variables.get('batch_stats', {}),
                     opt_state=tx.init(params))
  return state.replace(ema=_average_start(state)) if ema else state


def ema_update(ema: Any, variables: Any, step: jax.Array, decay: float) -> Any:
  """The moving average after `step` (the step count before this update): each leaf moves a share 1 - d towards
  its new value, with d = min(decay, (1 + step) / (10 + step)) so that the first steps' random start fades
  quickly (the warm-up of TensorFlow's ExponentialMovingAverage with num_updates)."""
  step = step.astype(jnp.float32)
  d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
  return jax.tree.map(lambda e, v: (e + (1.0 - d) * (v.astype(e.dtype) - e)).astype(e.dtype), ema, variables)


def _train_step(state: TrainState, batch: dict[str, jax.Array], *, model: nn.Module,
                tx: optax.GradientTransformation, class_weights: jax.Array,
                task: tasks.Task, ema_decay: float = 0.0) -> tuple[TrainState, dict]:
  def loss_fn(params):
    logits, updates = model.apply({'params': params, 'batch_stats': state.batch_stats}, batch['image'],
                                  train=True, mutable=['batch_stats'])
    return task.loss(logits, batch, class_weights), (logits, updates['batch_stats'])

  (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  new_state = TrainState(state.step + 1, params, batch_stats, opt_state, state.ema)
  if state.ema is not None:
    new_state = new_state.replace(ema=ema_update(state.ema, new_state.raw_variables, state.step, ema_decay))
  return new_state, {'loss': loss, **task.train_metrics(logits, batch)}


def _eval_step(variables: dict[str, Any], batch: dict[str, jax.Array], *, model: nn.Module,
               class_weights: jax.Array, task: tasks.Task, log_prior: jax.Array) -> tuple[jax.Array, jax.Array]:
  logits = model.apply(variables, batch['image'], train=False)
  return task.predictions(logits + log_prior), task.loss(logits, batch, class_weights)


class Steps(NamedTuple):
  """The jitted functions of one model, optimizer and task over a mesh."""
  train_step: Callable | None  # (state, batch) -> (state, metrics); donates the old state. None without an optimizer
  eval_step: Callable          # (variables, batch) -> (the task's predictions, mean loss over the valid examples)
  place_state: Callable        # host state or variables -> the same replicated over the mesh


def make_steps(model: nn.Module, tx: optax.GradientTransformation | None, mesh: jax.sharding.Mesh, class_weights,
               task: tasks.Task = tasks.SEGMENTATION, *, ema_decay: float = 0.0, log_prior=0.0) -> Steps:
  """The jitted train step, eval step and state placement for `mesh` (axis 'data').

  Args:
    model: the network.
    tx: its optimizer; None for evaluation only (`train_step` is then None).
    mesh: devices to run on; batches are split over its 'data' axis, the state is replicated.
    class_weights: (num_classes,) loss weight of each class (ones for an unweighted loss).
    task: what the model predicts and how it is scored.
    ema_decay: the decay of the moving average `train_step` keeps, for states that keep one (`create_train_state`
      with ema=True); in [0, 1).
    log_prior: (num_classes,) added to the logits the eval step predicts from (a packaged segmentation model's
      `class_prior`, `TrainedModel.log_prior`, a scalar 0 without one); not to its loss.

  Returns:
    Steps. On the CPU the train step is compiled with `xla_cpu.train_step_options` (faster matmul fusions for
    training only). `eval_step(variables, batch)` returns the task's predictions (class ids per pixel, or per-standard
    probabilities; sharded like the batch) and the loss, both from one forward pass in inference mode.
  """
  replicated = jax.sharding.NamedSharding(mesh, P())
  sharded = jax.sharding.NamedSharding(mesh, P('data'))
  weights = jnp.asarray(class_weights, jnp.float32)
  if not 0.0 <= ema_decay < 1.0:
    raise ValueError(f'ema_decay must be in [0, 1), got {ema_decay}')
  train_step = None
  if tx is not None:
    train_step = jax.jit(functools.partial(_train_step, model=model, tx=tx, class_weights=weights, task=task,
                                           ema_decay=float(ema_decay)),
                         in_shardings=(replicated, sharded), out_shardings=(replicated, replicated),
                         donate_argnums=(0,),
                         compiler_options=xla_cpu.train_step_options(mesh.devices.flat[0].platform))
  eval_step = jax.jit(functools.partial(_eval_step, model=model, class_weights=weights, task=task,
                                        log_prior=jnp.asarray(log_prior, jnp.float32)),
                      in_shardings=(replicated, sharded), out_shardings=(sharded, replicated))
  return Steps(train_step, eval_step, lambda state: jax.device_put(state, replicated))
