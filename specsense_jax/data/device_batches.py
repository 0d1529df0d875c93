"""Training batches gathered, augmented and coloured on the accelerator, from frames held there as grey levels.

For hosts without TensorFlow (the GPU machines lent to this project have none: `scripts/device/`) and for feeding
an accelerator faster than a host pipeline can. A 256x256 frame is 64 KiB of grey levels and 64 KiB of mask, so
the 6,000 frames of realistic_256 and synthetic_256 take 0.8 GB of accelerator memory, and a batch is one
gather, `grey_rescale` and a colormap lookup: about 33,000 images/s at 256x256 on an H200 (2026-12-04), far
above what any train step there consumes.

`grey_rescale` is `augment.grey_rescale` (same floor, slope and probability, the same arithmetic) with
jax.random draws in place of TensorFlow's stateless ones: the same distribution, other draws.
"""

from __future__ import annotations

from typing import Sequence

import flax
import jax
import jax.numpy as jnp
import numpy as np

from specsense_jax import spectrogram

# grey_rescale: the noise floor (the image's 10th-percentile grey, as `spectrogram.floor_grey_levels` measures it)
# moves to U[48, 144] and the grey per dB scales by log-U[0.7, 1.4], on half the examples. The ranges span the
# 10th-percentile greys of min-max parity and realistic frames (48-142) and the floor scaling's 64.
GREY_FLOOR_RANGE = (48.0, 144.0)
GREY_SLOPE_RANGE = (0.7, 1.4)
GREY_RESCALE_PROBABILITY = 0.5


@flax.struct.dataclass
class DeviceFrames:
  """Frames on the accelerator: grey uint8 (N, H, W), mask uint8 (N, H, W) in the model's class ids with
  `NO_LABEL` where no label counts, signals float32 (N, 3) (the NR, LTE, Unknown flags)."""
  grey: jax.Array
  mask: jax.Array
  signals: jax.Array

  @classmethod
  def from_host(cls, grey: np.ndarray, mask: np.ndarray, signals: np.ndarray) -> DeviceFrames:
    """Checks shapes and dtypes (ValueError naming the array) and copies the frames to the default device."""
    grey, mask, signals = np.asarray(grey), np.asarray(mask), np.asarray(signals)
    if grey.ndim != 3 or grey.dtype != np.uint8:
      raise ValueError(f'DeviceFrames: grey must be uint8 (N, H, W), got {grey.dtype} {grey.shape}')
    if mask.shape != grey.shape or mask.dtype != np.uint8:
      raise ValueError(f'DeviceFrames: mask must be uint8 {grey.shape} like grey, got {mask.dtype} {mask.shape}')
    if signals.shape != (len(grey), 3):
      raise ValueError(f'DeviceFrames: signals must be ({len(grey)}, 3), got {signals.shape}')
    return cls(jax.device_put(grey), jax.device_put(mask), jax.device_put(signals.astype(np.float32)))

  def __len__(self) -> int:
    return int(self.grey.shape[0])


def concatenate(parts: Sequence[DeviceFrames]) -> tuple[DeviceFrames, np.ndarray]:
  """One set of all `parts` (in order) and the row offset of each part in it."""
  offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
  return DeviceFrames(*(jnp.concatenate([getattr(p, f) for p in parts]) for f in ('grey', 'mask', 'signals'))), offsets


def rescale_grey(grey: jax.Array, floor: jax.Array, target: jax.Array, slope: jax.Array) -> jax.Array:
  """Grey levels (B, H, W) moved so that `floor` lands on `target` and scaled about it by `slope` (each (B,)),
  rounded and clipped to 0..255 (float32)."""
  grey = grey.astype(jnp.float32)
  return jnp.clip(jnp.round(target[:, None, None] + slope[:, None, None] * (grey - floor[:, None, None])), 0, 255)


def grey_rescale(grey: jax.Array, key: jax.Array) -> jax.Array:
  """`augment.grey_rescale` of a batch of grey levels (B, H, W): float32 grey levels, each image redrawn with
  probability GREY_RESCALE_PROBABILITY."""
  grey = grey.astype(jnp.float32)
  flat = grey.reshape(grey.shape[0], -1)
  floor = jnp.sort(flat, axis=1)[:, flat.shape[1] // 10]  # the (size // 10)-th smallest, as the histogram finds
  draws = jax.random.uniform(key, (grey.shape[0], 3))
  target = GREY_FLOOR_RANGE[0] + draws[:, 0] * (GREY_FLOOR_RANGE[1] - GREY_FLOOR_RANGE[0])
  slope = jnp.exp(np.log(GREY_SLOPE_RANGE[0]) + draws[:, 1] * np.log(GREY_SLOPE_RANGE[1] / GREY_SLOPE_RANGE[0]))
  rescaled = rescale_grey(grey, floor, target, slope)
  return jnp.where((draws[:, 2] < GREY_RESCALE_PROBABILITY)[:, None, None], rescaled, grey)


_TABLE = spectrogram.colorize(np.arange(256, dtype=np.uint8)).reshape(256, 3).astype(np.float32) / 255.0


@jax.jit
def batch(frames: DeviceFrames, index: jax.Array, valid: jax.Array, key: jax.Array | None = None) -> dict:
  """The batch of rows `index` as `pipeline.input_pipeline` gives it ('image' float32 RGB in [0, 1], 'mask'
  int32, 'signals', 'valid'), with `grey_rescale` when a key is given."""
  grey = frames.grey[index]
  grey = grey_rescale(grey, key) if key is not None else grey.astype(jnp.float32)
  return {'image': jnp.asarray(_TABLE)[grey.astype(jnp.int32)], 'mask': frames.mask[index].astype(jnp.int32),
          'signals': frames.signals[index], 'valid': valid}


def mixed_indices(rng: np.random.Generator, sizes: Sequence[int], shares: Sequence[float], count: int) -> np.ndarray:
  """`count` rows of the concatenation of sets of `sizes` (offsets as `concatenate` gives): each row from set j
  with probability shares[j], each set read in its own fresh permutation, cycled when a set is exhausted."""
  if len(sizes) != len(shares) or min(sizes) < 1 or abs(sum(shares) - 1) > 1e-9 or min(shares) < 0:
    raise ValueError(f'mixed_indices: sizes {list(sizes)} must be positive and shares {list(shares)} sum to 1, '
                     'one share per set')
  offsets = np.cumsum([0] + list(sizes[:-1]))
  which = rng.choice(len(sizes), size=count, p=np.asarray(shares, np.float64))
  out = np.empty(count, np.int64)
  for j, size in enumerate(sizes):
    rows = np.flatnonzero(which == j)
    order = np.concatenate([rng.permutation(size) for _ in range(-(-len(rows) // size) or 1)])
    out[rows] = offsets[j] + order[:len(rows)]
  return out
