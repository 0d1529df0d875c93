"""Checkpoints of a training workdir, all in one place.

Layout: `workdir/config.json` (the run's config, with what using a checkpoint needs: spectrogram mode, image
size, class names) and `workdir/checkpoints/<step>/`, written by one Orbax `CheckpointManager` whose
preservation policy keeps two steps at most: the latest (a rerun resumes there) and the best by the validation
selection metric (the one tested, evaluated and packaged); one step while validation keeps improving. Each step
records Orbax metrics `{'step'}`, plus `'selection'` (the metric) and `'score'` (the metric signed so that
higher is better) when it was evaluated; a step saved for a preemption has no score and ranks below them all.

`restore_variables` reads parameters and BatchNorm statistics alone (no optimizer, no model needed) onto one
local device, whatever device topology trained them. `sigterm_notice` turns SIGTERM into a flag the training
loop polls, and puts the previous handler back however the block ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from typing import Any, Iterator, Sequence

import flax.core
import flax.serialization
import flax.traverse_util
import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from specsense_jax.models import registry
from specsense_jax.training import steps

CHECKPOINTS = 'checkpoints'
CONFIG = 'config.json'


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a training workdir recorded, or a ValueError naming the missing file."""
  path = os.path.join(workdir, CONFIG)
  if not os.path.exists(path):
    raise ValueError(f'{workdir} has no {CONFIG}: not a training workdir (give the --workdir of a training run)')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def directory(workdir: str) -> str:
  """The absolute checkpoint folder of a workdir (Orbax needs absolute paths)."""
  return os.path.join(os.path.abspath(workdir), CHECKPOINTS)


def has_checkpoints(workdir: str) -> bool:
  """Whether `workdir` holds at least one committed checkpoint."""
  folder = directory(workdir)
  return os.path.isdir(folder) and any(name.isdigit() for name in os.listdir(folder))


def has_trained_weights(workdir: str) -> bool:
  """Whether `restore_variables` has something to read: checkpoints, or the `best/` folder of workdirs written
  before the one-manager layout."""
  return has_checkpoints(workdir) or os.path.isdir(os.path.join(workdir, 'best'))


def _ranking(metrics: dict[str, Any]) -> tuple[float, int]:
  """Orbax's best_fn (higher ranks better): the selection metric's score, ties going to the earlier step (as
  training's early stopping counts them); steps without a score (preemption saves) rank last."""
  return metrics.get('score', -np.inf), -metrics['step']


class Checkpoints:
  """The one checkpoint manager of a training run: keeps the latest step and the best evaluated step.

  Use as a context manager: leaving the block (normally or by an exception) finishes pending saves and stops
  Orbax's background threads.
  """

  def __init__(self, workdir: str, mode: str):
    """Opens (creating it if needed) `workdir/checkpoints`; `mode` is 'min' or 'max' (the selection metric's)."""
    if mode not in ('min', 'max'):
      raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    self.mode = mode
    policies = ocp.checkpoint_managers
    keep = policies.AnyPreservationPolicy([policies.LatestN(n=1),
                                           policies.BestN(get_metric_fn=_ranking, reverse=False, n=1)])
    self.directory = directory(workdir)
    self._manager = ocp.CheckpointManager(self.directory, options=ocp.CheckpointManagerOptions(
        preservation_policy=keep, best_fn=_ranking, best_mode='max', create=True))

  def __enter__(self) -> Checkpoints:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  def latest_step(self) -> int | None:
    """The last committed step, or None."""
    return self._manager.latest_step()

  def best_step(self) -> int | None:
    """The evaluated step with the best selection metric (the latest step when none was evaluated)."""
    best = self._manager.best_step()
    return self._manager.latest_step() if best is None else best

  def save(self, step: int, state: steps.TrainState, selection: float | None = None) -> None:
    """Saves `state` as `step` (asynchronously); `selection` is its validation selection metric, if evaluated."""
    metrics = {'step': step}
    if selection is not None:
      metrics.update(selection=float(selection), score=float(selection) if self.mode == 'max' else -float(selection))
    self._manager.save(step, args=ocp.args.StandardSave(state), metrics=metrics, force=True)

  def restore(self, step: int, target: steps.TrainState) -> steps.TrainState:
    """The full training state of `step`, laid out like `target` (arrays or jax.ShapeDtypeStructs)."""
    return self._manager.restore(step, args=ocp.args.StandardRestore(target))

  def wait(self) -> None:
    """Blocks until pending saves are committed."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    """Finishes pending saves and stops the manager's background threads."""
    self._manager.wait_until_finished()
    self._manager.close()


def restore_variables(workdir: str, which: str = 'best') -> dict[str, Any]:
  """{'params', 'batch_stats'} of the best (or 'latest') checkpoint of a workdir, on this host's first device:
  their moving average when the run kept one (`config.ema_decay`), as validation scored it.

  Only those two subtrees are read, with the checkpoint's own metadata as the target: no optimizer or model
  template is built, and a checkpoint saved on any number of devices or hosts restores on one.
  """
  if which not in ('best', 'latest'):
    raise ValueError(f"which must be 'best' or 'latest', got {which!r}")
  folder = directory(workdir)
  legacy_best = os.path.join(os.path.abspath(workdir), 'best')  # workdirs written before the one-manager layout
  if which == 'best' and os.path.isdir(legacy_best) and any(n.isdigit() for n in os.listdir(legacy_best)):
    folder = legacy_best
  elif not has_checkpoints(workdir):
    raise ValueError(f'no checkpoint in {folder}: train first (python -m launch.train --workdir={workdir} ...)')
  options = ocp.CheckpointManagerOptions(create=False, best_fn=_ranking, best_mode='max')
  with contextlib.closing(ocp.CheckpointManager(folder, item_handlers=ocp.PyTreeCheckpointHandler(),
                                                options=options)) as manager:
    step = manager.latest_step() if which == 'latest' or folder == legacy_best else manager.best_step()
    step = manager.latest_step() if step is None else step
    metadata = manager.item_metadata(step)
    ema = isinstance(metadata.get('ema'), dict) and 'params' in metadata['ema']  # the run kept a moving average
    source = metadata['ema'] if ema else metadata
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = {key: jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), source[key])
              for key in ('params', 'batch_stats') if key in source}
    target = {'ema': target} if ema else target
    restored = manager.restore(step, args=ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target), partial_restore=True))
  restored = restored['ema'] if ema else restored
  return {'params': restored['params'], 'batch_stats': restored.get('batch_stats', {})}


PACKAGED_VARIABLES = 'variables.msgpack'  # a packaged model's weights beside its config.json


def _trained_config(path: str) -> ml_collections.ConfigDict:
  """The config of a packaged model folder or training workdir, or ValueError naming `path`."""
  if not os.path.isfile(os.path.join(path, CONFIG)):
    raise ValueError(f'config.init_from {path!r}: neither a packaged model folder nor a training workdir (no '
                     f'{CONFIG})')
  return load_config(path)


def check_trained(path: str, config: ml_collections.ConfigDict, class_names: Sequence[str]) -> None:
  """ValueError naming config.init_from unless `path` holds weights of `config`'s model, image size and layout
  (`registry.WEIGHT_FREE_KWARGS` may differ), trained on `class_names` (the run's) with its spectrogram mode and
  image scaling where it recorded them."""
  trained = _trained_config(path)
  recorded = trained.get('class_names')
  missing = [c for c in recorded or () if c not in class_names]
  if missing:  # a subset is fine: its classifier columns carry over, the new classes' start fresh
    raise ValueError(f'config.init_from {path!r} predicts {list(recorded)}; this run trains {list(class_names)}, '
                     f'without {missing}')
  for key in ('spectrogram_mode', 'image_scaling'):
    if trained.get(key) is not None and config.get(key) is not None and trained.get(key) != config.get(key):
      raise ValueError(f'config.init_from {path!r} was trained with {key}={trained.get(key)!r}; this run has '
                       f'{config.get(key)!r}')
  for key in ('model', 'image_size', 'model_kwargs'):
    mine, theirs = config.get(key), trained.get(key)
    if key == 'model_kwargs':  # the same weights whether a default is named or left out, tuples or JSON lists,
      # and whatever the kwargs that no weight depends on (output stride, ASPP rates); modules this run adds aside
      added = [k for k, _ in _added_modules(trained, config)]
      mine, theirs = ({k: v for k, v in registry.explicit_model_kwargs(config.model, dict(v or {})).items()
                       if k not in registry.WEIGHT_FREE_KWARGS and k not in added} for v in (mine, theirs))
    if mine != theirs:
      raise ValueError(f'config.init_from {path!r} was trained with {key}={theirs!r}; this run has {mine!r}')
  if not os.path.isfile(os.path.join(path, PACKAGED_VARIABLES)) and not has_trained_weights(path):
    raise ValueError(f'config.init_from {path!r} has neither {PACKAGED_VARIABLES} nor checkpoints')


def added_modules(path: str, config: ml_collections.ConfigDict) -> list[tuple[str, str]]:
  """(model kwarg, module name) of each `registry.ADDED_MODULES` entry that `config` sets and the network at
  `path` was trained without: modules a fine-tuning run adds, starting as the identity."""
  return _added_modules(_trained_config(path), config)


def _added_modules(trained: ml_collections.ConfigDict, config: ml_collections.ConfigDict) -> list[tuple[str, str]]:
  theirs, mine = (dict(c.get('model_kwargs') or {}) for c in (trained, config))
  return [(k, module) for k, module in registry.ADDED_MODULES.items() if mine.get(k) and not theirs.get(k)]


def load_trained_variables(path: str, template: dict[str, Any], class_names: Sequence[str] | None = None,
                           fresh_modules: Sequence[str] = ()) -> dict[str, Any]:
  """{'params', 'batch_stats'} of a packaged model folder (float16 on disk) or a workdir's best checkpoint, cast
  to the dtypes of `template` (the new run's variables).

  When the trained network predicts a subset of `class_names` (the run's, e.g. four classes grown to six), the
  classifier's weights (the leaves whose last axis counts classes) are copied class by class and the new classes
  keep `template`'s fresh initialization, as do the top-level modules named in `fresh_modules` (those a run adds,
  `added_modules`). ValueError naming config.init_from when any other shape differs (another width or layout).
  """
  packaged = os.path.join(path, PACKAGED_VARIABLES)
  if os.path.isfile(packaged):
    with open(packaged, 'rb') as f:
      loaded = flax.serialization.msgpack_restore(f.read())
  else:
    loaded = jax.device_get(restore_variables(path))
  trained_names = list(_trained_config(path).get('class_names') or ()) if class_names is not None else []
  columns = ([list(class_names).index(c) for c in trained_names]
             if trained_names and list(trained_names) != list(class_names) else None)
  out = {}
  for key in ('params', 'batch_stats'):
    got = flax.traverse_util.flatten_dict(flax.core.unfreeze(loaded.get(key, {})))
    want = flax.traverse_util.flatten_dict(flax.core.unfreeze(template.get(key, {})))
    added = {name: value for name, value in want.items() if name[0] in fresh_modules and name not in got}
    want = {name: value for name, value in want.items() if name not in added}
    if set(got) != set(want):
      raise ValueError(f'config.init_from {path!r}: its {key} do not fit this run\'s network (another model, '
                       'width or layout)')
    leaves = {}
    for name, target in want.items():
      value = np.asarray(got[name], target.dtype)
      if value.shape != np.shape(target):
        grown = (columns is not None and value.ndim == np.ndim(target) and value.shape[:-1] == target.shape[:-1]
                 and value.shape[-1] == len(trained_names) and target.shape[-1] == len(class_names))
        if not grown:
          raise ValueError(f'config.init_from {path!r}: its {key} {"/".join(name)} has shape {value.shape}, this '
                           f'run\'s {tuple(np.shape(target))} (another class set, width or layout)')
        fresh = np.array(target, target.dtype)
        fresh[..., columns] = value
        value = fresh
      leaves[name] = value
    leaves.update({name: np.asarray(value) for name, value in added.items()})
    out[key] = flax.traverse_util.unflatten_dict(leaves)
  return out


class Preemption:
  """Whether a preemption notice (SIGTERM) arrived; see `sigterm_notice`."""

  def __init__(self):
    self.requested = False

  def agreed(self) -> bool:
    """Whether any process got SIGTERM; every process must call this at the same step (it is collective)."""
    if jax.process_count() == 1:
      return self.requested
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    return bool(np.any(multihost_utils.process_allgather(np.array([self.requested]))))


@contextlib.contextmanager
def sigterm_notice() -> Iterator[Preemption]:
  """Within the block, SIGTERM (a preemption notice) sets `Preemption.requested` instead of ending the process.

  Orbax's own preemption check (`CheckpointManager.reached_preemption`) relies on the preemption service of
  `jax.distributed`, so it never fires in a single process started without it; this handler works in both.
  The previous handler is put back however the block ends (return, exception, NaN stop). Off the main
  thread, where Python cannot install handlers, the block runs without one.
  """
  preemption = Preemption()
  installed = threading.current_thread() is threading.main_thread()
  if installed:
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: setattr(preemption, 'requested', True))
  try:
    yield preemption
  finally:
    if installed:  # None: a handler set outside Python, which Python cannot put back; the default is closest
      signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
