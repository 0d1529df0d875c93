"""train_and_evaluate(config, workdir): data-parallel training with evaluation, checkpoints and summaries.

Checkpoints: `workdir/checkpoints` (latest, saved every epoch; a rerun resumes there) and `workdir/best`
(best validation `config.selection_metric`), both Orbax CheckpointManagers (v0 API, async saves).
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from typing import Any

from absl import logging
from flax.metrics import tensorboard
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
import tensorflow_datasets as tfds

from specsense_jax.constants import CLASS_NAMES
from specsense_jax.constants import STANDARDS
from specsense_jax.data import augment
from specsense_jax.data import pipeline
from specsense_jax.data import splits
from specsense_jax.models import pretrained
from specsense_jax.models import registry
from specsense_jax.training import optim
from specsense_jax.training import steps
from specsense_jax.training import tasks


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN or Inf loss; the last good checkpoint is kept."""


class _Preemption:
  """SIGTERM (a preemption notice) sets a flag; the loop saves a checkpoint at the next step and returns."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):  # pylint: disable=unused-argument
    logging.warning('SIGTERM received: saving a checkpoint and stopping')
    self.requested = True

  def agreed(self) -> bool:
    """Whether any process got SIGTERM; every process must call this at the same step (it is collective)."""
    if jax.process_count() == 1:
      return self.requested
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    return bool(np.any(multihost_utils.process_allgather(np.array([self.requested]))))

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _close(latest, best, writer) -> None:
  """Finishes pending saves and stops the managers' and writer's background threads."""
  for manager in (latest, best):
    manager.wait_until_finished()
    manager.close()
  if writer:
    writer.close()


def _class_weights(config, workdir: str) -> np.ndarray:
  path = os.path.join(workdir, 'class_weights.json')
  if os.path.exists(path):
    with open(path) as f:
      return np.asarray(json.load(f), np.float32)
  if config.class_weighting == 'none':
    weights = np.ones(config.num_classes, np.float32)
  else:  # median_frequency (check_config allows it for segmentation only)
    ds = pipeline.input_pipeline(config.dataset, config.train_split, global_batch_size=jax.device_count(),
                             train=False, data_dir=config.data_dir, cache=False)
    masks = (b['mask'][b['valid'] > 0] for b in tfds.as_numpy(ds))
    weights = optim.median_frequency_weights(*optim.class_pixel_statistics(masks, config.num_classes))
  if jax.process_index() == 0:
    with open(path, 'w') as f:
      json.dump(weights.tolist(), f)
  return weights


# What may change when a run is resumed: how long it runs and where the data lives, not what it trains.
_RESUMABLE_KEYS = ('num_epochs', 'max_steps', 'early_stopping_patience', 'log_every_steps', 'data_dir')


def _flat(tree: dict[str, Any], prefix: str = '') -> dict[str, Any]:
  out = {}
  for key, value in tree.items():
    out.update(_flat(value, f'{prefix}{key}.') if isinstance(value, dict) else {prefix + key: value})
  return out


def check_resumable(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Raises ValueError when `workdir` holds checkpoints of a run whose config differs from `config` in more
  than `_RESUMABLE_KEYS` (keys the older run's config.json lacks are taken as added since, not as changed)."""
  config_path = os.path.join(workdir, 'config.json')
  checkpoints = os.path.join(workdir, 'checkpoints')
  if not os.path.isfile(config_path) or not (os.path.isdir(checkpoints) and os.listdir(checkpoints)):
    return
  with open(config_path) as f:
    old = _flat(json.load(f))
  new = _flat(json.loads(config.to_json_best_effort()))
  changed = [f'{key} {old[key]!r} -> {new.get(key)!r}' for key in sorted(old)
             if key in new and old[key] != new[key] and key.split('.')[0] not in _RESUMABLE_KEYS]
  if changed:
    raise ValueError(f'{workdir} holds checkpoints of a run with another config ({"; ".join(changed)}); resume '
                     'it with its own config (config.json there) or choose a new --workdir')


def _recorded_config(config: ml_collections.ConfigDict, builder) -> dict[str, Any]:
  """The config as config.json keeps it, with what using the checkpoint needs that the config only implies:
  the spectrogram mode of the dataset's images and the class names (the image size is `image_size`)."""
  recorded = json.loads(config.to_json_best_effort())
  recorded['spectrogram_mode'] = getattr(builder.builder_config, 'spectrogram_mode', 'matlab')
  names = STANDARDS if tasks.task_for_model(config.model) is tasks.CLASSIFICATION else CLASS_NAMES
  recorded['class_names'] = list(names[:config.num_classes])
  return recorded


def _managers(workdir: str, mode: str):
  latest = ocp.CheckpointManager(os.path.join(workdir, 'checkpoints'),
                                 options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True))
  best = ocp.CheckpointManager(os.path.join(workdir, 'best'), options=ocp.CheckpointManagerOptions(
      max_to_keep=1, best_fn=lambda m: m['selection'], best_mode=mode, create=True))
  return latest, best


def evaluate(jitted: steps.Steps, state, config, task: tasks.Task, split: str, sharding,
             with_loss: bool = False) -> dict[str, Any]:
  """The task's metrics (and the mean loss with `with_loss`) over one pass of `split`."""
  ds = pipeline.input_pipeline(config.dataset, split, global_batch_size=config.batch_size, train=False,
                           data_dir=config.data_dir, cache=False)
  accumulator = task.accumulator(config.num_classes)
  loss_sum = 0.0
  for batch in pipeline.global_batches(ds, sharding):
    host = pipeline.to_host({k: v for k, v in batch.items() if k != 'image'})
    valid = host['valid'] > 0
    predictions = pipeline.to_host(jitted.predict(state, batch['image']))[valid]
    accumulator.add({k: v[valid] for k, v in host.items()}, predictions)
    if with_loss:
      loss_sum += float(jitted.eval_loss(state, batch)) * valid.sum()
  result = accumulator.result()
  if with_loss:
    result['loss'] = loss_sum / max(accumulator.count, 1)
  return result


def _mask_panels(predict, state, config, sharding, count: int = 3) -> np.ndarray:
  """Images of the first validation frames: spectrogram | true mask | predicted mask, as (count, H, 3W, 3)."""
  ds = pipeline.input_pipeline(config.dataset, config.eval_split, global_batch_size=config.batch_size, train=False,
                           data_dir=config.data_dir, cache=False)
  batch = next(pipeline.global_batches(ds, sharding))
  prediction = pipeline.to_host(predict(state, batch['image']))[:count]  # every process: predict is collective
  batch = pipeline.to_host(batch)
  palette = np.array([[40, 40, 40], [31, 155, 222], [240, 160, 32], [176, 64, 192]], np.float32) / 255
  colour = lambda m: palette[np.clip(m, 0, len(palette) - 1)]
  images = np.asarray(batch['image'])[:count]
  return np.concatenate([images, colour(np.asarray(batch['mask'])[:count]), colour(prediction)], axis=2)


def _jsonable(metrics: dict[str, Any]) -> dict[str, Any]:
  return {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in metrics.items()}


def check_config(config: ml_collections.ConfigDict):
  """Everything about a config that can be wrong, checked in seconds before any data is read or code compiled.

  Returns:
    (task, model, TFDS builder, config with the fold's splits when `config.fold` is set). Raises ValueError
    naming the config key and what to change.
  """
  task = tasks.task_for_model(config.model)
  task.check_selection_metric(config.selection_metric)
  if config.class_weighting not in ('none', 'median_frequency') or (
      task is tasks.CLASSIFICATION and config.class_weighting != 'none'):
    allowed = "'median_frequency' or 'none'" if task is tasks.SEGMENTATION else "'none' for frame classifiers"
    raise ValueError(f'config.class_weighting must be {allowed}, got {config.class_weighting!r}')
  pipeline.check_batch_size(config.batch_size)
  augment.check(config.augment)
  builder = pipeline.prepared_builder(config.dataset, config.data_dir)
  if config.fold is not None:
    config = splits.apply_fold(config, builder.info.splits[config.train_split].num_examples)
  for key in ('train_split', 'eval_split', 'test_split'):
    try:
      builder.info.splits[config[key]].num_examples  # pylint: disable=expression-not-assigned
    except Exception as e:  # tfds raises ValueError/KeyError/AssertionError depending on the expression
      raise ValueError(f'config.{key} {config[key]!r} is not a split of {config.dataset} '
                       f'(splits: {sorted(builder.info.splits)}): {e}') from None
  dataset_size = builder.info.features['image'].shape[0]
  if config.image_size != dataset_size:
    raise ValueError(f'config.image_size is {config.image_size} but {config.dataset} has {dataset_size}x'
                     f'{dataset_size} images; set --config.image_size={dataset_size} or pick a dataset of that size')
  if config.init_weights:
    pretrained.check_weights_file(config.model, config.init_weights)
  model = registry.build_from_config(config, jnp.bfloat16 if config.half_precision else jnp.float32)
  try:  # traces the model without compiling: shape errors (an input size the encoder cannot divide) show here
    jax.eval_shape(model.init, jax.random.key(0), jax.ShapeDtypeStruct((1, dataset_size, dataset_size, 3),
                                                                        jnp.float32))
  except ValueError as e:
    raise ValueError(f'config.model {config.model!r} cannot take {dataset_size}x{dataset_size} images from '
                     f'{config.dataset}: {e}') from None
  return task, model, builder, config


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains `config.model` on `config.dataset`, evaluating every epoch; returns the test metrics of the best
  checkpoint (by validation `config.selection_metric`: 'loss', MATLAB's rule, or 'mean_iou', ...). Rerunning
  with the same workdir resumes from the latest checkpoint."""
  task, model, builder, config = check_config(config)
  workdir = os.path.abspath(workdir)  # Orbax needs absolute paths; users pass runs/...
  mode = task.check_selection_metric(config.selection_metric)
  check_resumable(config, workdir)
  os.makedirs(workdir, exist_ok=True)
  if jax.process_index() == 0:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      json.dump(_recorded_config(config, builder), f, indent=1)
  mesh = jax.make_mesh((jax.device_count(),), ('data',))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  train_ds = pipeline.input_pipeline(config.dataset, config.train_split, global_batch_size=config.batch_size,
                                 train=True, data_dir=config.data_dir, seed=config.seed,
                                 shuffle_buffer=config.shuffle_buffer, augment=config.augment)
  num_train = builder.info.splits[config.train_split].num_examples
  steps_per_epoch = max(1, num_train // config.batch_size)
  total_steps = config.max_steps or steps_per_epoch * config.num_epochs
  schedule = optim.learning_rate_schedule(config.schedule, config.learning_rate, steps_per_epoch, total_steps,
                                          warmup_steps=int(config.warmup_epochs * steps_per_epoch))
  tx = optim.sgdm(schedule, config.momentum, config.l2)
  image_shape = (config.image_size, config.image_size, 3)
  latest, best = _managers(workdir, mode)
  better = (lambda a, b: a < b) if mode == 'min' else (lambda a, b: a > b)
  state = steps.create_train_state(model, tx, jax.random.key(config.seed), image_shape)
  if config.init_weights and latest.latest_step() is None:
    variables = pretrained.load_pretrained(config.model, config.init_weights,
                                           {'params': state.params, 'batch_stats': state.batch_stats})
    state = state.replace(params=variables['params'], batch_stats=variables['batch_stats'])
    logging.info('encoder initialized from %s', config.init_weights)
  class_weights = _class_weights(config, workdir)
  jitted = steps.make_steps(model, tx, mesh, class_weights, task)
  train_step, predict, place = jitted.train_step, jitted.predict, jitted.place_state

  history_path = os.path.join(workdir, 'history.json')
  history = {'best': math.inf if mode == 'min' else -math.inf, 'evals_without_improvement': 0, 'epochs': []}
  if latest.latest_step() is not None:
    state = latest.restore(latest.latest_step(), args=ocp.args.StandardRestore(state))
    with open(history_path) as f:
      history = json.load(f)
    logging.info('resumed from step %d', int(state.step))
  state = place(state)
  writer = tensorboard.SummaryWriter(os.path.join(workdir, 'tensorboard')) if jax.process_index() == 0 else None
  batches = pipeline.global_batches(train_ds, sharding)
  start_step = int(state.step)
  # Skip the batches the interrupted run consumed, so the data order matches an uninterrupted run.
  for _ in range(start_step):
    next(batches)
  tick = time.time()
  preemption = _Preemption().__enter__()
  for step in range(start_step, total_steps):
    if preemption.agreed():
      if latest.latest_step() != step:  # the epoch-end save may already hold this step
        latest.save(step, args=ocp.args.StandardSave(state), force=True)
      latest.wait_until_finished()
      logging.warning('stopped at step %d for preemption; rerun the same command to resume', step)
      preemption.__exit__()
      _close(latest, best, writer)
      return {'preempted_at_step': step}
    state, train_metrics = train_step(state, next(batches))
    if (step + 1) % config.log_every_steps == 0 or step + 1 == total_steps:
      loss = float(train_metrics['loss'])
      if not math.isfinite(loss):
        raise NonFiniteLossError(f'loss is {loss} at step {step + 1}; the last good checkpoint is in '
                                 f'{workdir}/checkpoints')
      rate = config.log_every_steps / max(time.time() - tick, 1e-9)
      scalars = {k: float(v) for k, v in train_metrics.items()}
      logging.info('step %d/%d %s %.2f steps/s ETA %.0f s', step + 1, total_steps,
                   ' '.join(f'{k} {v:.4f}' for k, v in scalars.items()), rate, (total_steps - step - 1) / rate)
      if writer:
        scalars.update(learning_rate=float(schedule(step)), steps_per_second=rate,
                       images_per_second=rate * config.batch_size)
        for name, value in scalars.items():
          writer.scalar(f'train/{name}', value, step + 1)
      tick = time.time()
    if (step + 1) % steps_per_epoch == 0 or step + 1 == total_steps:
      val = evaluate(jitted, state, config, task, config.eval_split, sharding, with_loss=True)
      epoch = {'step': step + 1, **{f'val_{k}': val[k] for k in ('loss',) + task.report_metrics}}
      history['epochs'].append(epoch)
      logging.info('eval at step %d: %s', step + 1, epoch)
      panels = _mask_panels(predict, state, config, sharding) if task is tasks.SEGMENTATION else None
      if writer:
        if panels is not None:
          writer.image('val/masks', panels, step + 1)
        for key in ('loss',) + task.report_metrics:
          writer.scalar(f'val/{key}', val[key], step + 1)
        writer.flush()
      selection = val[config.selection_metric]
      if better(selection, history['best']):
        history['best'], history['evals_without_improvement'] = selection, 0
        best.save(step + 1, args=ocp.args.StandardSave(state), metrics={'selection': selection})
        # One save in flight at a time: two managers' concurrent multi-host commit barriers can deadlock.
        best.wait_until_finished()
      else:
        history['evals_without_improvement'] += 1
      latest.save(step + 1, args=ocp.args.StandardSave(state))
      latest.wait_until_finished()
      if jax.process_index() == 0:
        with open(history_path + '.tmp', 'w') as f:
          json.dump(history, f, indent=1)
        os.replace(history_path + '.tmp', history_path)
      if history['evals_without_improvement'] >= config.early_stopping_patience:
        logging.info('early stopping: %d evaluations without a better validation %s',
                     history['evals_without_improvement'], config.selection_metric)
        break
  preemption.__exit__()
  latest.wait_until_finished()
  best.wait_until_finished()
  best_state = best.restore(best.best_step(), args=ocp.args.StandardRestore(state)) if best.best_step() else state
  test = evaluate(jitted, place(best_state), config, task, config.test_split, sharding)
  result = _jsonable(test)
  if jax.process_index() == 0:
    with open(os.path.join(workdir, 'test_metrics.json'), 'w') as f:
      json.dump(result, f, indent=1)
  _close(latest, best, writer)
  return result
