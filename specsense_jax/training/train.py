"""train_and_evaluate(config, workdir): data-parallel training with evaluation, checkpoints and summaries.

Workdir: `config.json`, `class_weights.json`, `history.json` (validation metrics per epoch), `checkpoints/`
(one Orbax manager keeping the latest and the best step, see `checkpoints`), `tensorboard/` and, at the end,
`test_metrics.json` (the best checkpoint on the test split).

The console shows one progress bar per epoch (loss, images/s), one line per validation and a closing summary,
printed by `say`; `logging.info` carries the per-step detail for `--verbosity=1`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from typing import Any, Callable, Iterator

from absl import logging
from flax.metrics import tensorboard
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
import tqdm

from specsense_jax.constants import CLASS_COLORS
from specsense_jax.data import augment
from specsense_jax.data import pipeline
from specsense_jax.data import splits
from specsense_jax.models import pretrained
from specsense_jax.models import registry
from specsense_jax.training import checkpoints
from specsense_jax.training import evaluate
from specsense_jax.training import optim
from specsense_jax.training import steps
from specsense_jax.training import tasks


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN or Inf loss; the last good checkpoint is kept."""


def say(text: str) -> None:
  """Prints one console line on stdout (process 0 only), above any progress bar."""
  if jax.process_index() == 0:
    tqdm.tqdm.write(text, file=sys.stdout)
    sys.stdout.flush()


def _class_weights(config, workdir: str) -> np.ndarray:
  path = os.path.join(workdir, 'class_weights.json')
  if os.path.exists(path):
    with open(path) as f:
      return np.asarray(json.load(f), np.float32)
  if config.class_weighting == 'none':
    weights = np.ones(config.num_classes, np.float32)
  else:  # median_frequency[_mix] (check_config allows them for segmentation only)
    weights = optim.median_frequency_weights(*_training_pixel_statistics(config))
  if jax.process_index() == 0:
    with open(path, 'w') as f:
      json.dump(weights.tolist(), f)
  return weights


def _training_pixel_statistics(config) -> tuple[np.ndarray, np.ndarray]:
  """Class pixel statistics of `config.dataset`'s training split ('median_frequency', as MATLAB counts its
  training datastore) or of the mixture training draws ('median_frequency_mix': `config.dataset` and every
  `config.train_mix` dataset at its share), without `config.exclude_recordings`. Masks are in the ids of
  `config.dataset`'s classes, as training sees them."""
  mix = pipeline.parse_mix(config.get('train_mix')) if config.class_weighting == 'median_frequency_mix' else ()
  class_names = pipeline.dataset_class_names(pipeline.prepared_builder(config.dataset, config.data_dir))
  sources = []
  for dataset, split, share in pipeline.training_sources(config.dataset, config.train_split, mix):
    masks = pipeline.split_masks(dataset, split, data_dir=config.data_dir, class_names=class_names,
                                 exclude_recordings=excluded_recordings(config))
    sizes = []
    statistics = optim.class_pixel_statistics((sizes.append(len(b)) or b for b in masks), config.num_classes)
    sources.append((*statistics, sum(sizes), share))
  return optim.mixture_pixel_statistics(sources)


# Class weighting rules of `config.class_weighting`: none, median frequency over `config.dataset` (MATLAB) or over
# the mixture training draws from (`config.train_mix`).
CLASS_WEIGHTINGS = ('none', 'median_frequency', 'median_frequency_mix')

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
  if not os.path.isfile(config_path) or not checkpoints.has_checkpoints(workdir):
    return
  with open(config_path) as f:
    old = _flat(json.load(f))
  new = _flat(json.loads(config.to_json_best_effort()))
  changed = [f'{key} {old[key]!r} -> {new.get(key)!r}' for key in sorted(old)
             if key in new and old[key] != new[key] and key.split('.')[0] not in _RESUMABLE_KEYS]
  if changed:
    raise ValueError(f'{workdir} holds checkpoints of a run with another config ({"; ".join(changed)}); resume '
                     'it with its own config (config.json there) or choose a new --workdir')


def _recorded_config(config: ml_collections.ConfigDict, builder, class_names: tuple[str, ...]) -> dict[str, Any]:
  """The config as config.json keeps it, with what using the checkpoint needs that the config only implies:
  the spectrogram mode of the dataset's images and the model's class names, in output order (the image size is
  `image_size`, the class count `num_classes`)."""
  recorded = json.loads(config.to_json_best_effort())
  recorded['spectrogram_mode'] = getattr(builder.builder_config, 'spectrogram_mode', 'matlab')
  recorded['image_scaling'] = getattr(builder.builder_config, 'scaling', 'minmax')
  recorded['class_names'] = list(class_names)
  return recorded


def model_class_names(config: ml_collections.ConfigDict, task: tasks.Task, builder) -> tuple[str, ...]:
  """The classes the model of `config` predicts: the dataset's class set (segmentation: its masks' classes,
  `pipeline.dataset_class_names`) or the first `config.num_classes` standards (frame classifiers, all when
  unset). Raises ValueError when an explicit `config.num_classes` disagrees with the dataset."""
  if task is tasks.CLASSIFICATION:
    count = len(tasks.STANDARDS) if config.num_classes is None else config.num_classes
    if not 1 <= count <= len(tasks.STANDARDS):
      raise ValueError(f'config.num_classes of a frame classifier must be 1..{len(tasks.STANDARDS)} (the standards '
                       f'{tasks.STANDARDS}), got {config.num_classes}')
    return tasks.STANDARDS[:count]
  names = pipeline.dataset_class_names(builder)
  if config.num_classes is not None and config.num_classes != len(names):
    raise ValueError(f'config.num_classes is {config.num_classes} but {config.dataset} has {len(names)} classes '
                     f'{names}; leave num_classes unset (None) to take it from the dataset, or pick a dataset '
                     f'with {config.num_classes} classes')
  return names


def _batches(config: ml_collections.ConfigDict, split: str, sharding) -> Iterator[dict[str, jax.Array]]:
  """One pass over `split` in global batches of config.batch_size, padded, not cached (it may be read partly)."""
  ds = pipeline.input_pipeline(config.dataset, split, global_batch_size=config.batch_size, train=False,
                               data_dir=config.data_dir, cache=False)
  return pipeline.global_batches(ds, sharding)


def _mask_panels(samples: dict[str, np.ndarray]) -> np.ndarray:
  """Spectrogram | true mask | predicted mask of the kept validation examples, as (count, H, 3W, 3)."""
  palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in CLASS_COLORS], np.float32) / 255
  colour = lambda m: palette[np.clip(m, 0, len(palette) - 1)]
  return np.concatenate([samples['image'], colour(samples['mask']), colour(samples['predictions'])], axis=2)


def _jsonable(metrics: dict[str, Any]) -> dict[str, Any]:
  return {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in metrics.items()}


def check_config(config: ml_collections.ConfigDict):
  """Everything about a config that can be wrong, checked in seconds before any data is read or code compiled.

  Returns:
    (task, model, TFDS builder, config with `num_classes` set (from the dataset when unset, see
    `model_class_names`) and the fold's splits when `config.fold` is set). Raises ValueError naming the config
    key and what to change.
  """
  task = tasks.task_for_model(config.model)
  task.check_selection_metric(config.selection_metric)
  if config.class_weighting not in CLASS_WEIGHTINGS or (
      task is tasks.CLASSIFICATION and config.class_weighting != 'none'):
    allowed = f'one of {CLASS_WEIGHTINGS}' if task is tasks.SEGMENTATION else "'none' for frame classifiers"
    raise ValueError(f'config.class_weighting must be {allowed}, got {config.class_weighting!r}')
  pipeline.check_batch_size(config.batch_size)
  if not 0.0 <= config.get('ema_decay', 0.0) < 1.0:
    raise ValueError(f'config.ema_decay must be in [0, 1) (0: no moving average), got {config.ema_decay}')
  augment.check(config.augment)
  builder = pipeline.prepared_builder(config.dataset, config.data_dir)
  num_classes = len(model_class_names(config, task, builder))
  if config.num_classes != num_classes:
    config = config.copy_and_resolve_references()
    with config.unlocked():
      config.num_classes = num_classes
  if config.fold is not None:
    config = splits.apply_fold(config, builder.info.splits[config.train_split].num_examples)
  for key in ('train_split', 'eval_split', 'test_split'):
    problem = _split_problem(builder, config[key])
    if problem:
      raise ValueError(f'config.{key} {config[key]!r} is not a split of {config.dataset} {problem}')
  dataset_size = builder.info.features['image'].shape[0]
  _check_mix(config, builder, dataset_size)
  _check_exclusions(config, builder)
  if config.image_size != dataset_size:
    raise ValueError(f'config.image_size is {config.image_size} but {config.dataset} has {dataset_size}x'
                     f'{dataset_size} images; set --config.image_size={dataset_size} or pick a dataset of that size')
  if config.get('init_from'):
    checkpoints.check_trained(config.init_from, config, model_class_names(config, task, builder))
  if config.init_weights:
    pretrained.check_weights_file(config.model, registry.model_info(config.model).weight_format,
                                  config.init_weights)
  model = registry.build_from_config(config, jnp.bfloat16 if config.half_precision else jnp.float32)
  try:  # traces the model without compiling: shape errors (an input size the encoder cannot divide) show here
    jax.eval_shape(model.init, jax.random.key(0), jax.ShapeDtypeStruct((1, dataset_size, dataset_size, 3),
                                                                        jnp.float32))
  except ValueError as e:
    raise ValueError(f'config.model {config.model!r} cannot take {dataset_size}x{dataset_size} images from '
                     f'{config.dataset}: {e}') from None
  return task, model, builder, config


def _split_problem(builder, split: str) -> str:
  """'' when `split` (any TFDS split expression) reads from `builder`, else '(splits: [...]): why'."""
  try:
    builder.info.splits[split].num_examples  # pylint: disable=expression-not-assigned
  except Exception as e:  # tfds raises ValueError/KeyError/AssertionError depending on the expression
    return f'(splits: {sorted(builder.info.splits)}): {e}'
  return ''


def excluded_recordings(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The recording names of `config.exclude_recordings` ('name,name', '' for none)."""
  return tuple(filter(None, (n.strip() for n in (config.get('exclude_recordings') or '').split(','))))


def _check_exclusions(config, builder) -> None:
  """Every training source keeps frames once `config.exclude_recordings` are left out (an empty one would end
  or skew the training stream)."""
  excluded = set(excluded_recordings(config))
  if not excluded:
    return
  sources = [(builder, config.train_split)] + [(mixed, split) for _, mixed, split in _mixed_sources(config)]
  matched = set()
  for source, split in sources:
    skip = {k: tfds.decode.SkipDecoding() for k in ('image', 'mask', 'occupancy_mask') if k in source.info.features}
    names = {n.decode() for n in tfds.as_numpy(source.as_dataset(split=split, decoders=skip).map(
        lambda e: e['recording']))}
    matched |= names & excluded
    if not names - excluded:
      raise ValueError(f'config.exclude_recordings={config.exclude_recordings!r} leaves no frame of '
                       f'{source.info.full_name} split {split!r} to train on')
  if excluded - matched:  # a misspelt name would leave its recording in training
    raise ValueError(f'config.exclude_recordings: {sorted(excluded - matched)} are recordings of no training '
                     'dataset (names are file names without extension)')


def _mixed_sources(config) -> list[tuple[str, Any, str]]:
  """(dataset name, TFDS builder, split) of each dataset of `config.train_mix`."""
  named = [pipeline.mix_source(source, config.train_split) for source, _ in pipeline.parse_mix(config.get('train_mix'))]
  return [(name, pipeline.prepared_builder(name, config.data_dir), split) for name, split in named]


def _check_mix(config, builder, image_size: int) -> None:
  """The datasets of `config.train_mix` have their split (`config.train_split` unless they name one), images of the
  primary's size, and no class the primary dataset lacks (their masks are mapped to its ids)."""
  classes = pipeline.dataset_class_names(builder)
  for name, mixed, split in _mixed_sources(config):
    problem = _split_problem(mixed, split)
    if problem:
      raise ValueError(f'config.train_mix: {name} has no split {split!r} {problem}')
    if mixed.info.features['image'].shape[0] != image_size:
      raise ValueError(f'config.train_mix: {name} has {mixed.info.features["image"].shape[0]}-pixel images, '
                       f'{config.dataset} {image_size}-pixel ones')
    extra = [c for c in pipeline.dataset_class_names(mixed) if c not in classes]
    if extra:
      raise ValueError(f'config.train_mix: {name} has classes {extra} that {config.dataset} lacks {classes}')


def _write_json(path: str, value: Any) -> None:
  """Writes `value` to `path` atomically, from process 0 only."""
  if jax.process_index() == 0:
    with open(path + '.tmp', 'w') as f:
      json.dump(value, f, indent=1)
    os.replace(path + '.tmp', path)


def _epoch_bar(step: int, steps_per_epoch: int, total_steps: int, batch_size: int) -> tqdm.tqdm:
  """The progress bar of the epoch holding `step`, counting images (so its rate reads images/s)."""
  epoch, first = step // steps_per_epoch, step // steps_per_epoch * steps_per_epoch
  last = min(first + steps_per_epoch, total_steps)
  return tqdm.tqdm(total=(last - first) * batch_size, initial=(step - first) * batch_size, unit='img',
                   desc=f'epoch {epoch + 1}/{math.ceil(total_steps / steps_per_epoch)}', leave=False,
                   dynamic_ncols=True, disable=jax.process_index() != 0)


class _Run:
  """One call of train_and_evaluate after its checks: what the loop's parts share."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str, task: tasks.Task, jitted: steps.Steps,
               sharding: jax.sharding.Sharding, manager: checkpoints.Checkpoints,
               writer: tensorboard.SummaryWriter | None, schedule: Callable[[int], Any], steps_per_epoch: int,
               total_steps: int):
    self.config, self.workdir, self.task, self.jitted, self.sharding = config, workdir, task, jitted, sharding
    self.manager, self.writer, self.schedule = manager, writer, schedule
    self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
    self.mode = task.check_selection_metric(config.selection_metric)
    self.history_path = os.path.join(workdir, 'history.json')
    self.tick = time.perf_counter()

  def better(self, a: float, b: float) -> bool:
    return a < b if self.mode == 'min' else a > b

  def start(self, state: steps.TrainState) -> tuple[steps.TrainState, dict[str, Any]]:
    """The state to train from (the latest checkpoint, or fresh with optional encoder weights) and the history."""
    history = {'best': math.inf if self.mode == 'min' else -math.inf, 'best_step': None,
               'evals_without_improvement': 0, 'epochs': []}
    latest = self.manager.latest_step()
    if latest is None:
      if self.config.get('init_from'):  # fine-tuning: every weight of a trained network
        variables = checkpoints.load_trained_variables(
            self.config.init_from, state.variables, checkpoints.load_config(self.workdir).get('class_names'),
            [module for _, module in checkpoints.added_modules(self.config.init_from, self.config)])
        state = state.with_variables(variables)
        say(f'initialized from {self.config.init_from}')
      elif self.config.init_weights:
        info = registry.model_info(self.config.model)
        variables = pretrained.load_pretrained(self.config.model, info.encoder, info.weight_format,
                                               self.config.init_weights, state.variables)
        state = state.with_variables(variables)
        say(f'encoder initialized from {self.config.init_weights}')
      return self.jitted.place_state(state), history
    state = self.manager.restore(latest, self.jitted.place_state(state))
    if os.path.exists(self.history_path):  # absent when preempted before the first validation
      with open(self.history_path) as f:
        history = json.load(f)
    say(f'resumed from step {int(state.step)} ({self.manager.directory})')
    return state, history

  def fit(self, state: steps.TrainState, history: dict[str, Any],
          preemption: checkpoints.Preemption) -> tuple[steps.TrainState, int | None]:
    """Trains to config's last step, early stopping or a preemption notice; returns the state and the step
    training stopped at for a preemption (None otherwise)."""
    config, start = self.config, int(state.step)
    # Only the training split is cached (the first epoch and the shuffle buffer read it whole): a cache read in
    # part makes tf.data warn, and the mask panels come from the validation pass, not from a second partial read.
    ds = pipeline.input_pipeline(config.dataset, config.train_split, global_batch_size=config.batch_size,
                                 train=True, data_dir=config.data_dir, seed=config.seed,
                                 shuffle_buffer=config.shuffle_buffer, augment=config.augment, skip_batches=start,
                                 mix=pipeline.parse_mix(config.get('train_mix')),
                                 exclude_recordings=excluded_recordings(config))
    batches = pipeline.global_batches(ds, self.sharding)
    bar = None
    try:
      for step in range(start, self.total_steps):
        if preemption.agreed():
          if self.manager.latest_step() != step:  # the epoch-end save may already hold this step
            self.manager.save(step, state)
          self.manager.wait()
          say(f'stopped at step {step} for preemption; rerun the same command to resume')
          return state, step
        if bar is None:
          bar = _epoch_bar(step, self.steps_per_epoch, self.total_steps, config.batch_size)
        state, train_metrics = self.jitted.train_step(state, next(batches))
        bar.update(config.batch_size)
        if (step + 1) % config.log_every_steps == 0 or step + 1 == self.total_steps:
          self.log(step, train_metrics, bar)
        if (step + 1) % self.steps_per_epoch == 0 or step + 1 == self.total_steps:
          bar.close()
          bar = None
          if self.validate(state, step + 1, history):
            say(f'early stopping: {history["evals_without_improvement"]} validations without a better '
                f'{config.selection_metric}')
            break
    finally:
      if bar is not None:
        bar.close()
    return state, None

  def log(self, step: int, train_metrics: dict[str, jax.Array], bar: tqdm.tqdm) -> None:
    """Checks the loss, shows it on the bar and writes the training scalars."""
    scalars = {k: float(v) for k, v in train_metrics.items()}
    if not math.isfinite(scalars['loss']):
      raise NonFiniteLossError(f'loss is {scalars["loss"]} at step {step + 1}; the last good checkpoint is in '
                               f'{self.manager.directory}')
    rate = self.config.log_every_steps / max(time.perf_counter() - self.tick, 1e-9)
    self.tick = time.perf_counter()
    bar.set_postfix(loss=f'{scalars["loss"]:.4f}', refresh=False)
    logging.info('step %d/%d %s %.2f steps/s', step + 1, self.total_steps,
                 ' '.join(f'{k} {v:.4f}' for k, v in scalars.items()), rate)
    if self.writer:
      scalars.update(learning_rate=float(self.schedule(step)), steps_per_second=rate,
                     images_per_second=rate * self.config.batch_size)
      for name, value in scalars.items():
        self.writer.scalar(f'train/{name}', value, step + 1)

  def validate(self, state: steps.TrainState, step: int, history: dict[str, Any]) -> bool:
    """Evaluates `config.eval_split`, saves the checkpoint of `step` and records it; True to stop early."""
    config, task = self.config, self.task
    val = evaluate.evaluate_batches(self.jitted.eval_step, state.variables,
                                    _batches(config, config.eval_split, self.sharding), task, config.num_classes,
                                    keep_samples=3 if task is tasks.SEGMENTATION else 0)
    names = ('loss',) + task.report_metrics
    history['epochs'].append({'step': step, **{f'val_{k}': val.metrics[k] for k in names}})
    selection = val.metrics[config.selection_metric]
    improved = self.better(selection, history['best'])
    if improved:
      history.update(best=selection, best_step=step, evals_without_improvement=0)
    else:
      history['evals_without_improvement'] += 1
    self.manager.save(step, state, selection)
    self.manager.wait()  # committed before history.json names it
    if self.writer:
      if val.samples is not None:
        self.writer.image('val/masks', _mask_panels(val.samples), step)
      for key in names:
        self.writer.scalar(f'val/{key}', val.metrics[key], step)
      self.writer.flush()
    _write_json(self.history_path, history)
    epochs = math.ceil(self.total_steps / self.steps_per_epoch)
    say(f'epoch {math.ceil(step / self.steps_per_epoch)}/{epochs} (step {step}): validation '
        f'{config.selection_metric} {selection:.4f}{" (best)" if improved else ""}'
        + ('' if config.selection_metric == 'loss' else f', loss {val.metrics["loss"]:.4f}'))
    self.tick = time.perf_counter()
    return history['evals_without_improvement'] >= config.early_stopping_patience

  def test(self, state: steps.TrainState) -> dict[str, Any]:
    """The test split's metrics with the best checkpoint, also written to test_metrics.json."""
    best = self.manager.best_step()
    if best is not None and best != int(state.step):
      state = self.manager.restore(best, state)
    test = evaluate.evaluate_batches(self.jitted.eval_step, state.variables,
                                     _batches(self.config, self.config.test_split, self.sharding), self.task,
                                     self.config.num_classes)
    result = _jsonable(test.metrics)
    _write_json(os.path.join(self.workdir, 'test_metrics.json'), result)
    return result

  def summarize(self, history: dict[str, Any], result: dict[str, Any]) -> None:
    """The closing lines: the best validation, where the checkpoints are, the test metrics and what next."""
    config, best_step = self.config, history.get('best_step')
    if best_step is not None:
      epoch = math.ceil(best_step / self.steps_per_epoch)
      say(f'best: epoch {epoch} (step {best_step}), validation {config.selection_metric} {history["best"]:.4f}')
    say(f'checkpoints: {self.manager.directory} (latest step {self.manager.latest_step()}, best step '
        f'{self.manager.best_step()})')
    say(f'test split {config.test_split!r} with the best checkpoint: '
        + ', '.join(f'{k} {result[k]:.4f}' for k in self.task.report_metrics)
        + f' -> {os.path.join(self.workdir, "test_metrics.json")}')
    say(f'report: python -m launch.evaluate --workdir={self.workdir}; curves: tensorboard '
        f'--logdir={os.path.join(self.workdir, "tensorboard")}')


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains `config.model` on `config.dataset`, evaluating every epoch; returns the test metrics of the best
  checkpoint (by validation `config.selection_metric`: 'loss', MATLAB's rule, or 'mean_iou', ...). Rerunning
  with the same workdir resumes from the latest checkpoint; after a preemption notice (SIGTERM) it saves,
  returns {'preempted_at_step': step} and a rerun resumes there."""
  task, model, builder, config = check_config(config)
  workdir = os.path.abspath(workdir)  # Orbax needs absolute paths; users pass runs/...
  mode = task.check_selection_metric(config.selection_metric)
  check_resumable(config, workdir)
  os.makedirs(workdir, exist_ok=True)
  _write_json(os.path.join(workdir, checkpoints.CONFIG),
              _recorded_config(config, builder, model_class_names(config, task, builder)))
  mesh = steps.data_mesh()
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  num_train = builder.info.splits[config.train_split].num_examples
  steps_per_epoch = max(1, num_train // config.batch_size)
  total_steps = config.max_steps or steps_per_epoch * config.num_epochs
  schedule = optim.learning_rate_schedule(config.schedule, config.learning_rate, steps_per_epoch, total_steps,
                                          warmup_steps=int(config.warmup_epochs * steps_per_epoch))
  tx = optim.sgdm(schedule, config.momentum, config.l2)
  ema_decay = config.get('ema_decay', 0.0)
  state = steps.create_train_state(model, tx, jax.random.key(config.seed), (config.image_size, config.image_size, 3),
                                   ema=ema_decay > 0)
  jitted = steps.make_steps(model, tx, mesh, _class_weights(config, workdir), task, ema_decay=ema_decay)
  with contextlib.ExitStack() as cleanup:  # however the run ends: handler restored, writer and manager closed
    manager = cleanup.enter_context(checkpoints.Checkpoints(workdir, mode))
    writer = None
    if jax.process_index() == 0:
      writer = tensorboard.SummaryWriter(os.path.join(workdir, 'tensorboard'))
      cleanup.callback(writer.close)
    preemption = cleanup.enter_context(checkpoints.sigterm_notice())
    run = _Run(config, workdir, task, jitted, sharding, manager, writer, schedule, steps_per_epoch, total_steps)
    state, history = run.start(state)
    state, preempted_at = run.fit(state, history, preemption)
    if preempted_at is not None:
      return {'preempted_at_step': preempted_at}
    result = run.test(state)
    run.summarize(history, result)
    return result
