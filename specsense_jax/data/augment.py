"""Training augmentations that keep image and mask aligned and the labels true.

Rows of a spectrogram image are time, columns frequency. Shifting the 40 ms window in time (`time_roll`,
circular) or reversing time (`time_flip`) leaves every pixel's standard unchanged, so both are applied to the
image and the mask alike. Frequency flips are not offered: mirroring the band is the spectrum of the conjugate
signal, which is not an NR or LTE downlink (the SS/PBCH block and LTE's DC subcarrier sit asymmetrically), so
it would teach the network spectra that never occur. Colour jitter is not offered either: the images are a
fixed colormap of min-max normalized power, and jitter would leave that map.

Each function takes an example and a stateless seed (2 int32) and is deterministic in both.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import tensorflow as tf

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


AUGMENTATIONS: dict[str, Callable[[Example, tf.Tensor], Example]] = {
    'time_roll': time_roll,
    'time_flip': time_flip,
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
