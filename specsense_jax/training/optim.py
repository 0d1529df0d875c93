"""Optimizer, learning-rate schedules and class weighting of the MathWorks recipe (and cosine alternative)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import optax

from specsense_jax.constants import NO_LABEL

SCHEDULES = ('piecewise', 'cosine')


def learning_rate_schedule(name: str, base: float, steps_per_epoch: int, total_steps: int, *,
                           drop_every_epochs: int = 10, drop_factor: float = 0.1, warmup_steps: int = 0
                           ) -> optax.Schedule:
  """'piecewise': base x drop_factor every `drop_every_epochs` (MATLAB's default recipe: 0.02, x0.1 / 10 epochs);
  'cosine': linear warmup then cosine decay to 0 at `total_steps`."""
  if name == 'piecewise':
    boundaries = {int(e * steps_per_epoch): drop_factor
                  for e in range(drop_every_epochs, int(np.ceil(total_steps / steps_per_epoch)) + 1, drop_every_epochs)}
    return optax.piecewise_constant_schedule(base, boundaries)
  if name == 'cosine':
    return optax.warmup_cosine_decay_schedule(0.0, base, max(warmup_steps, 0), max(total_steps, warmup_steps + 1))
  raise ValueError(f'schedule must be one of {SCHEDULES}, got {name!r}')


def sgdm(schedule: optax.Schedule, momentum: float = 0.9, l2: float = 1e-4) -> optax.GradientTransformation:
  """SGD with momentum and L2 regularization added to the gradient (MATLAB sgdm's L2Regularization)."""
  return optax.chain(optax.add_decayed_weights(l2), optax.sgd(schedule, momentum=momentum))


def median_frequency_weights(pixel_counts: np.ndarray, image_pixel_counts: np.ndarray) -> np.ndarray:
  """MATLAB's median-frequency balancing.

  Args:
    pixel_counts: (K,) pixels of each class over the training masks.
    image_pixel_counts: (K,) total pixels of the images in which each class appears.

  Returns:
    (K,) weights median(freq) / freq with freq = pixel_counts / image_pixel_counts, normalized to sum 1
    (MATLAB V2); classes never seen get weight 0.
  """
  pixel_counts = np.asarray(pixel_counts, np.float64)
  image_pixel_counts = np.asarray(image_pixel_counts, np.float64)
  seen = (pixel_counts > 0) & (image_pixel_counts > 0)
  if not seen.any():
    raise ValueError('no class appears in the training masks')
  freq = np.where(seen, pixel_counts / np.where(seen, image_pixel_counts, 1), np.nan)
  weights = np.where(seen, np.nanmedian(freq) / freq, 0.0)
  return (weights / weights.sum()).astype(np.float32)


def class_pixel_statistics(masks, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
  """(pixel_counts, image_pixel_counts) over an iterable of (N, H, W) or (H, W) mask batches.

  Pixels labelled `NO_LABEL` (no data) are not counted: not as a class, nor among an image's pixels.
  """
  pixels = np.zeros(num_classes, np.int64)
  image_pixels = np.zeros(num_classes, np.int64)
  for batch in masks:
    batch = np.asarray(batch)
    batch = batch.reshape((-1,) + batch.shape[-2:])
    for mask in batch:
      labelled = mask[mask != NO_LABEL]
      counts = np.bincount(labelled.ravel(), minlength=num_classes)[:num_classes]
      pixels += counts
      image_pixels += np.where(counts > 0, labelled.size, 0)
  return pixels, image_pixels


def mixture_pixel_statistics(sources: Sequence[tuple[np.ndarray, np.ndarray, int, float]]
                             ) -> tuple[np.ndarray, np.ndarray]:
  """`class_pixel_statistics` of a training mixture, per example drawn.

  Args:
    sources: (pixel_counts, image_pixel_counts, examples, share) of each dataset training samples from, `share`
      of the examples drawn from its `examples`.

  Returns:
    (pixel_counts, image_pixel_counts) float64 as expected in one drawn example: each source's counts over its
    examples, times its share. One source is returned as counted (its weights are those of the dataset alone).
  """
  if len(sources) == 1:
    pixels, image_pixels, _, _ = sources[0]
    return np.asarray(pixels), np.asarray(image_pixels)
  empty = [i for i, (_, _, examples, share) in enumerate(sources) if examples <= 0 and share > 0]
  if empty:
    raise ValueError(f'training sources {empty} have no examples to draw their share from')
  pixels = sum(share / examples * np.asarray(p, np.float64) for p, _, examples, share in sources if share > 0)
  image_pixels = sum(share / examples * np.asarray(q, np.float64) for _, q, examples, share in sources if share > 0)
  return pixels, image_pixels
