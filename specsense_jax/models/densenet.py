"""DenseNet-121/169/201 encoders in the layout of keras.applications.DenseNet*."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import layers

BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}
_EPS = 1.001e-5


def _bn_relu(x, train, name, dtype):
  x = nn.BatchNorm(use_running_average=not train, epsilon=_EPS, momentum=0.99, dtype=dtype, name=name)(x)
  return nn.relu(x)


class DenseLayer(nn.Module):
  growth: int
  dilation: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    y = _bn_relu(x, train, 'bn0', self.dtype)
    y = layers.PointwiseConv(4 * self.growth, dtype=self.dtype, name='conv1')(y)
    y = _bn_relu(y, train, 'bn1', self.dtype)
    y = nn.Conv(self.growth, (3, 3), padding='SAME', kernel_dilation=self.dilation, use_bias=False,
                dtype=self.dtype, name='conv2')(y)
    return jnp.concatenate([x, y], axis=-1)


class DenseNet(nn.Module):
  """stage1 (stride 2, stem conv) .. stage5 (stride 32 or output_stride, after the final BN-ReLU)."""
  depth: int = 121
  growth: int = 32
  output_stride: int = 32
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.depth not in BLOCKS:
      raise ValueError(f'DenseNet depth must be one of {sorted(BLOCKS)}, got {self.depth}')
    layers.check_divisible(x, 32, f'densenet{self.depth}')
    x = layers.ConvBN(64, 7, 2, padding=((3, 3), (3, 3)), bn_epsilon=_EPS, dtype=self.dtype, name='stem')(x, train)
    features = [x]
    x = layers.max_pool(x, 3, 2, ((1, 1), (1, 1)))
    tracker = layers.StrideTracker(self.output_stride, stride=4)
    dilation = 1
    for b, count in enumerate(BLOCKS[self.depth]):
      for i in range(count):
        x = DenseLayer(self.growth, dilation, dtype=self.dtype, name=f'block{b + 1}_{i}')(x, train)
      if b < len(BLOCKS[self.depth]) - 1:
        features.append(x)
        x = _bn_relu(x, train, f'transition{b + 1}_bn', self.dtype)
        x = layers.PointwiseConv(x.shape[-1] // 2, dtype=self.dtype, name=f'transition{b + 1}_conv')(x)
        stride, dilation = tracker.step(2)
        if stride == 2:
          x = nn.avg_pool(x, (2, 2), strides=(2, 2))
        dilation = tracker.dilation
    x = _bn_relu(x, train, 'final_bn', self.dtype)
    features.append(x)
    return layers.stages_dict(features)
