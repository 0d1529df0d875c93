"""MobileNetV2 encoder in the layout of keras.applications.MobileNetV2 (alpha 1.0)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import layers

# (expansion t, output channels c, repeats n, first stride s) of Sandler et al. (2018), Table 2.
BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
_BN = dict(bn_epsilon=1e-3, bn_momentum=0.999)


class MobileNetV2(nn.Module):
  """stage1..stage5 at strides 2, 4, 8, 16, 32 (or output_stride); stage5 is the 1280-channel head conv."""
  output_stride: int = 32
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    layers.check_divisible(x, 32, 'mobilenetv2')
    x = layers.ConvBN(32, 3, 2, activation='relu6', dtype=self.dtype, name='stem', **_BN)(x, train)
    tracker = layers.StrideTracker(self.output_stride, stride=2)
    features = []
    index = 0
    for expansion, channels, repeats, first_stride in BLOCKS:
      if first_stride == 2:
        features.append(x)
      for i in range(repeats):
        stride, dilation = tracker.step(first_stride if i == 0 else 1)
        x = layers.InvertedResidual(channels, expansion, stride, dilation, dtype=self.dtype, name=f'block_{index}',
                                    **_BN)(x, train)
        index += 1
    x = layers.ConvBN(1280, 1, activation='relu6', dtype=self.dtype, name='head', **_BN)(x, train)
    features.append(x)
    return layers.stages_dict(features)
