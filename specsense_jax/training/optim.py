"""Optimizer, learning-rate schedules and class weighting of the MathWorks recipe (and cosine alternative)."""

from __future__ import annotations

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
