"""Training augmentations that keep image and mask aligned and the labels true.

Rows of a spectrogram image are time, columns frequency. Shifting the 40 ms window in time (`time_roll`,
circular) or reversing time (`time_flip`) leaves every pixel's standard unchanged, so both are applied to the
image and the mask alike. Frequency flips are not offered: mirroring the band is the spectrum of the conjugate
signal, which is not an NR or LTE downlink (the SS/PBCH block and LTE's DC subcarrier sit asymmetrically), so
it would teach the network spectra that never occur. Colour jitter is not offered either: the images are a
fixed colormap of normalized power, and jitter would leave that map. What does vary between real images is the
grey-level scaling (min-max puts the noise floor anywhere from grey 50 to 140 depending on the frame's brightest
pixel; the floor scaling always at 64), so `grey_rescale` moves the floor and the slope within the map.

Each function takes an example and a stateless seed (2 int32) and is deterministic in both.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import tensorflow as tf

from specsense_jax import spectrogram
from specsense_jax.data import device_batches

Example = dict[str, Any]


def time_roll(example: Example, seed: tf.Tensor) -> Example:
  """Circularly shifts image and mask rows by the same random offset."""
  height = tf.shape(example['mask'])[0]
  shift = tf.random.stateless_uniform((), seed, 0, height, dtype=tf.int32)
  return {**example, 'image': tf.roll(example['image'], shift, axis=0),
          'mask': tf.roll(example['mask'], shift, axis=0)}


def time_flip(example: Example, seed: tf.Tensor) -> Example:
  """Reverses image and mask rows with probability 1/2."""
  flip = tf.random.stateless_uniform((), seed) < 0.5
  apply = lambda x: tf.cond(flip, lambda: tf.reverse(x, axis=[0]), lambda: x)
  return {**example, 'image': apply(example['image']), 'mask': apply(example['mask'])}


# grey_rescale's ranges and probability (the floor to U[48, 144], the slope log-U[0.7, 1.4], half the examples),
# shared with its accelerator twin in `device_batches`
GREY_FLOOR_RANGE = device_batches.GREY_FLOOR_RANGE
GREY_SLOPE_RANGE = device_batches.GREY_SLOPE_RANGE
GREY_RESCALE_PROBABILITY = device_batches.GREY_RESCALE_PROBABILITY


def grey_rescale(example: Example, seed: tf.Tensor) -> Example:
  """Redraws the grey-level scaling of a parula image (float RGB in [0, 1]; the mask is unchanged).

  Each pixel's grey level is read back exactly from the 256-entry colour map, shifted so that the image's noise
  floor lands on a drawn grey, scaled about it by a drawn slope, clipped to 0..255 and coloured again. Images
  in another colour map stop with an InvalidArgumentError.
  """
  table = tf.constant(spectrogram.colorize(np.arange(256, dtype=np.uint8)).astype(np.float32) / 255.0)
  image = example['image']
  pixels = tf.reshape(image, (-1, 3))
  exact, keyed = _grey_by_key(pixels)
  nearest = tf.cond(exact, lambda: keyed, lambda: _nearest_grey(pixels, table))
  grey = tf.cast(nearest, tf.float32)
  # the (size // 10)-th smallest grey level, from the histogram of the 256 levels (sorting every pixel is slower)
  below = tf.cumsum(tf.math.bincount(nearest, minlength=256, maxlength=256))
  floor = tf.cast(tf.argmax(tf.cast(below > tf.size(nearest) // 10, tf.int32)), tf.float32)
  draws = tf.random.stateless_uniform((3,), seed)
  target = GREY_FLOOR_RANGE[0] + draws[0] * (GREY_FLOOR_RANGE[1] - GREY_FLOOR_RANGE[0])
  slope = tf.exp(np.log(GREY_SLOPE_RANGE[0]) + draws[1] * np.log(GREY_SLOPE_RANGE[1] / GREY_SLOPE_RANGE[0]))
  rescaled = tf.cast(tf.clip_by_value(tf.round(target + slope * (grey - floor)), 0, 255), tf.int32)
  recoloured = tf.reshape(tf.gather(table, rescaled), tf.shape(image))
  return {**example, 'image': tf.where(draws[2] < GREY_RESCALE_PROBABILITY, recoloured, image)}


_KEYS, _KEY_GREY = spectrogram.colour_keys()


def _grey_by_key(pixels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """(whether every pixel is exactly a colour of the map, as every image made here is: uint8 map colours / 255;
  the grey levels of those colours by a binary search over the map's keys, meaningful when they all are)."""
  rgb = tf.cast(tf.round(pixels * 255.0), tf.int32)
  keys = rgb[:, 0] * 65536 + rgb[:, 1] * 256 + rgb[:, 2]
  at = tf.minimum(tf.searchsorted(tf.constant(_KEYS), keys), len(_KEYS) - 1)
  on_grid = tf.reduce_max(tf.abs(pixels * 255.0 - tf.cast(rgb, tf.float32))) < 1e-3
  exact = tf.logical_and(on_grid, tf.reduce_all(tf.gather(tf.constant(_KEYS), at) == keys))
  return exact, tf.gather(tf.constant(_KEY_GREY), at)


def _nearest_grey(pixels: tf.Tensor, table: tf.Tensor) -> tf.Tensor:
  """Grey levels of the nearest map colours; InvalidArgumentError when a pixel is no colour of the map."""
  distance = (tf.reduce_sum(pixels ** 2, -1, keepdims=True) - 2 * tf.matmul(pixels, table, transpose_b=True)
              + tf.reduce_sum(table ** 2, -1)[None])
  check = tf.debugging.assert_less(tf.reduce_max(tf.reduce_min(distance, -1)), 1e-4,
                                   message='grey_rescale: the image is not in the parula colour map')
  with tf.control_dependencies([check]):
    return tf.argmin(distance, axis=-1, output_type=tf.int32)


AUGMENTATIONS: dict[str, Callable[[Example, tf.Tensor], Example]] = {
    'time_roll': time_roll,
    'time_flip': time_flip,
    'grey_rescale': grey_rescale,
}


def check(names: Sequence[str]) -> tuple[str, ...]:
  """The names, or a ValueError naming the unknown ones and the known."""
  unknown = [n for n in names if n not in AUGMENTATIONS]
  if unknown:
    raise ValueError(f'config.augment: unknown augmentations {unknown}; known: {sorted(AUGMENTATIONS)}')
  return tuple(names)


def augmenter(names: Sequence[str], seed: int) -> Callable[[tf.Tensor, Example], Example]:
  """A tf.data map function over (index, example) applying `names` in order with per-example seeds."""
  names = check(names)

  def apply(index, example):
    for k, name in enumerate(names):
      example = AUGMENTATIONS[name](example, tf.stack([tf.cast(seed, tf.int64), index * len(names) + k]))
    return example
  return apply
