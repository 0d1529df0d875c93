"""Serializes a trained network's inference function with `jax.export`, weights included.

The file runs with JAX alone (no Flax, no specsense_jax): `jax.export.deserialize(data).call(images)` on float32
images in [0, 1] of any batch size returns (class ids (N, H, W) int32, class probabilities (N, H, W, C)) for
segmentation models, or per-standard probabilities (N, K) for frame classifiers.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from specsense_jax.inference import trained_models
from specsense_jax.training import tasks

PLATFORMS = ('cpu', 'cuda', 'rocm', 'tpu')


def inference_fn(trained: trained_models.TrainedModel) -> Callable[[jax.Array], Any]:
  """images -> outputs with the variables closed over (they become constants of the exported program).

  The outputs are the task's own predictions (`tasks.Task.predictions`, as `launch.evaluate` computes them);
  segmentation models add the per-pixel class probabilities, with the model's temperature and class prior as
  `predict` gives them (the band plan, which needs a recording's frequency, is not applied).
  """
  task = tasks.task_for_model(trained.config.model)
  temperature, log_prior = np.float32(trained.temperature), trained.log_prior

  def infer(images):
    logits = trained.model.apply(trained.variables, images, train=False)
    if task is tasks.SEGMENTATION:
      scores = logits.astype(jnp.float32) / temperature + log_prior
      return task.predictions(scores), jax.nn.softmax(scores, -1)
    return task.predictions(logits)
  return infer


def export(trained: trained_models.TrainedModel, platforms: Sequence[str] = ('cpu',)) -> jax.export.Exported:
  """The exported inference function, batch size symbolic, lowered for `platforms`."""
  unknown = [p for p in platforms if p not in PLATFORMS]
  if unknown:
    raise ValueError(f'--platforms: unknown {unknown}; known: {PLATFORMS}')
  size = trained.image_size
  (batch,) = jax.export.symbolic_shape('batch')
  spec = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)
  return jax.export.export(jax.jit(inference_fn(trained)), platforms=tuple(platforms))(spec)


def save(exported: jax.export.Exported, path: str, trained: trained_models.TrainedModel) -> None:
  """Writes the serialized function to `path` and a JSON description beside it (`path`.json), atomically."""
  task = tasks.task_for_model(trained.config.model)
  info = {'model': trained.config.model, 'source': trained.name, 'image_size': trained.image_size,
          'task': task.name, 'platforms': list(exported.platforms), 'input': 'float32 (batch, H, W, 3) in [0, 1]',
          'classes': list(trained.class_names), 'calibration_temperature': trained.temperature,
          'class_prior': dict((trained.config.get('class_prior') or {}).items())}
  for target, data in ((path, exported.serialize()), (path + '.json', json.dumps(info, indent=1).encode())):
    with open(target + '.tmp', 'wb') as f:
      f.write(data)
    os.replace(target + '.tmp', target)


def load(path: str) -> jax.export.Exported:
  """An exported function from `path`, or a ValueError naming the file."""
  if not os.path.isfile(path):
    raise ValueError(f'{path}: exported model not found')
  with open(path, 'rb') as f:
    data = f.read()
  try:
    return jax.export.deserialize(bytearray(data))
  except Exception as e:  # flatbuffer and version errors come in several types
    raise ValueError(f'{path}: not a jax.export serialization ({type(e).__name__}: {e})') from None
