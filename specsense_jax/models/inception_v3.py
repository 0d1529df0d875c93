"""Inception-v3 feature extractor in the layout of keras.applications.InceptionV3.

Valid-padded stem and reductions as in Keras, so feature sizes are not exact fractions of the input (the
DeepLab head resizes). With output_stride 16 or 8 the last one or two reductions keep their resolution
('SAME', stride 1) and later convolutions are dilated.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import layers

MIN_SIZE = 75


class InceptionV3(nn.Module):
  output_stride: int = 32
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if x.shape[1] < MIN_SIZE or x.shape[2] < MIN_SIZE:
      raise ValueError(f'inception_v3 needs inputs of at least {MIN_SIZE}x{MIN_SIZE}; got {x.shape[1]}x{x.shape[2]}')
    counter = iter(range(10**6))
    state = {'dilation': 1}

    def conv(y, filters, rows, cols, stride=1, padding='SAME'):
      k = next(counter)
      d = state['dilation'] if padding == 'SAME' else 1
      y = nn.Conv(filters, (rows, cols), strides=stride, padding=padding, kernel_dilation=d, use_bias=False,
                  dtype=self.dtype, name=f'conv{k}')(y)
      y = nn.BatchNorm(use_running_average=not train, use_scale=False, epsilon=1e-3, momentum=0.99,
                       dtype=self.dtype, name=f'bn{k}')(y)
      return nn.relu(y)

    def avg_pool(y):
      return nn.avg_pool(y, (3, 3), strides=(1, 1), padding='SAME', count_include_pad=False)

    def reduction(keep: bool):
      """(stride, padding) of a reduction, or stride 1 / SAME when the output stride is reached."""
      return (1, 'SAME') if keep else (2, 'VALID')

    x = conv(x, 32, 3, 3, 2, 'VALID')
    x = conv(x, 32, 3, 3, padding='VALID')
    x = conv(x, 64, 3, 3)
    features = [x]
    x = layers.max_pool(x, 3, 2)
    x = conv(x, 80, 1, 1, padding='VALID')
    x = conv(x, 192, 3, 3, padding='VALID')
    features.append(x)
    x = layers.max_pool(x, 3, 2)
    for pool_filters in (32, 64, 64):  # mixed 0-2
      b1 = conv(x, 64, 1, 1)
      b5 = conv(conv(x, 48, 1, 1), 64, 5, 5)
      b3 = conv(conv(conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
      bp = conv(avg_pool(x), pool_filters, 1, 1)
      x = jnp.concatenate([b1, b5, b3, bp], axis=-1)
    features.append(x)
    keep = self.output_stride <= 8
    stride, padding = reduction(keep)
    b3 = conv(x, 384, 3, 3, stride, padding)  # mixed 3
    bd = conv(conv(conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, stride, padding)
    bp = layers.max_pool(x, 3, stride, padding)
    x = jnp.concatenate([b3, bd, bp], axis=-1)
    if keep:
      state['dilation'] *= 2
    for width in (128, 160, 160, 192):  # mixed 4-7
      b1 = conv(x, 192, 1, 1)
      b7 = conv(conv(conv(x, width, 1, 1), width, 1, 7), 192, 7, 1)
      bd = conv(x, width, 1, 1)
      bd = conv(conv(conv(conv(bd, width, 7, 1), width, 1, 7), width, 7, 1), 192, 1, 7)
      bp = conv(avg_pool(x), 192, 1, 1)
      x = jnp.concatenate([b1, b7, bd, bp], axis=-1)
    features.append(x)
    keep = self.output_stride <= 16
    stride, padding = reduction(keep)
    b3 = conv(conv(x, 192, 1, 1), 320, 3, 3, stride, padding)  # mixed 8
    b7 = conv(conv(conv(conv(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, stride, padding)
    bp = layers.max_pool(x, 3, stride, padding)
    x = jnp.concatenate([b3, b7, bp], axis=-1)
    if keep:
      state['dilation'] *= 2
    for _ in range(2):  # mixed 9-10
      b1 = conv(x, 320, 1, 1)
      b3 = conv(x, 384, 1, 1)
      b3 = jnp.concatenate([conv(b3, 384, 1, 3), conv(b3, 384, 3, 1)], axis=-1)
      bd = conv(conv(x, 448, 1, 1), 384, 3, 3)
      bd = jnp.concatenate([conv(bd, 384, 1, 3), conv(bd, 384, 3, 1)], axis=-1)
      bp = conv(avg_pool(x), 192, 1, 1)
      x = jnp.concatenate([b1, b3, bd, bp], axis=-1)
    features.append(x)
    return layers.stages_dict(features)
