"""Checkpoints of a training workdir: its config, and its parameters and BatchNorm statistics restored."""

from __future__ import annotations

import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from specsense_jax.models import registry
from specsense_jax.training import optim
from specsense_jax.training import steps


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ValueError(f'{workdir} has no config.json: not a training workdir')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def restore_state(workdir: str, config: ml_collections.ConfigDict, which: str = 'best') -> steps.TrainState:
  """The best (or latest) checkpoint of a workdir as a TrainState on this host's first device.

  Works whatever topology trained it (a pod's checkpoint restores on a laptop): the target is given
  explicitly, on one local device.
  """
  model = registry.build_from_config(config)
  # a schedule (not a constant) so that the optimizer state has the structure training saved
  tx = optim.sgdm(lambda count: 0.0, config.momentum, config.l2)
  template = steps.create_train_state(model, tx, jax.random.key(0),
                                      (config.image_size, config.image_size, 3))
  directory = os.path.join(os.path.abspath(workdir), 'best' if which == 'best' else 'checkpoints')
  manager = ocp.CheckpointManager(directory)
  step = manager.best_step() if which == 'best' else manager.latest_step()
  if step is None:
    raise ValueError(f'no checkpoint in {directory}')
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), template)
  return manager.restore(step, args=ocp.args.StandardRestore(target))
