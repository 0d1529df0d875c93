"""EfficientNet-B0..B7 encoders in the layout of keras.applications.EfficientNetB*.

B1-B7 scale B0's widths and depths by compound scaling (Tan & Le, 2019); the stem normalizes 0-255 inputs
with stored per-channel mean and variance, as Keras does.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import layers

# name: (width coefficient, depth coefficient)
SCALING = {'b0': (1.0, 1.0), 'b1': (1.0, 1.1), 'b2': (1.1, 1.2), 'b3': (1.2, 1.4), 'b4': (1.4, 1.8),
           'b5': (1.6, 2.2), 'b6': (1.8, 2.6), 'b7': (2.0, 3.1)}
# (kernel, repeats, input filters, output filters, expansion, stride) of B0; squeeze-excite ratio 0.25.
BLOCKS = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
_BN = dict(bn_epsilon=1e-3, bn_momentum=0.99, activation='swish')


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
  filters *= width
  new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
  return int(new + divisor) if new < 0.9 * filters else int(new)


def round_repeats(repeats: int, depth: float) -> int:
  return int(math.ceil(depth * repeats))


class Normalization(nn.Module):
  """(x / 255 - mean) / sqrt(variance), with mean and variance stored as non-trainable state."""

  @nn.compact
  def __call__(self, x):
    mean = self.variable('batch_stats', 'mean', lambda: jnp.array([0.485, 0.456, 0.406], jnp.float32))
    var = self.variable('batch_stats', 'variance', lambda: jnp.array([0.229, 0.224, 0.225], jnp.float32) ** 2)
    self.variable('batch_stats', 'count', lambda: jnp.zeros((), jnp.float32))  # Keras bookkeeping
    return (x / 255.0 - mean.value) / jnp.sqrt(jnp.maximum(var.value, 1e-7))


class EfficientNet(nn.Module):
  """stage1..stage5 at strides 2..32 (or output_stride); stage5 is the 1280·width head conv."""
  variant: str = 'b0'
  output_stride: int = 32
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.variant not in SCALING:
      raise ValueError(f'EfficientNet variant must be one of {sorted(SCALING)}, got {self.variant!r}')
    layers.check_divisible(x, 32, f'efficientnet_{self.variant}')
    width, depth = SCALING[self.variant]
    x = Normalization(name='normalization')(x)
    x = layers.ConvBN(round_filters(32, width), 3, 2, dtype=self.dtype, name='stem', **_BN)(x, train)
    tracker = layers.StrideTracker(self.output_stride, stride=2)
    features = []
    index = 0
    for kernel, repeats, _, filters_out, expansion, first_stride in BLOCKS:
      if first_stride == 2:
        features.append(x)
      for i in range(round_repeats(repeats, depth)):
        stride, dilation = tracker.step(first_stride if i == 0 else 1)
        x = layers.InvertedResidual(round_filters(filters_out, width), expansion, stride, dilation, kernel,
                                    se_ratio=0.25, dtype=self.dtype, name=f'block_{index}', **_BN)(x, train)
        index += 1
    x = layers.ConvBN(round_filters(1280, width), 1, dtype=self.dtype, name='head', **_BN)(x, train)
    features.append(x)
    return layers.stages_dict(features)
