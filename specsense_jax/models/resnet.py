"""ResNet-18/34/50/101 encoders in two flavours.

`torch` follows torchvision (stride on the 3x3 conv, no conv biases, symmetric padding, BN eps 1e-5): the
layout of timm/torchvision checkpoints. `keras` follows keras.applications.ResNet50 (stride on the first 1x1
conv, conv biases, explicit zero padding in the stem, BN eps 1.001e-5): the layout of Keras .h5 weights.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import layers

STAGE_SIZES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class BasicBlock(nn.Module):
  features: int
  stride: int
  dilation: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    conv = lambda f, s, d, act, name: layers.ConvBN(f, 3, s, d, padding=layers.torch_padding(3, d),
                                                    activation=act, dtype=self.dtype, name=name)
    y = conv(self.features, self.stride, self.dilation, 'relu', 'conv_bn1')(x, train)
    y = conv(self.features, 1, self.dilation, 'none', 'conv_bn2')(y, train)
    if self.stride != 1 or x.shape[-1] != self.features:
      x = layers.ConvBN(self.features, 1, self.stride, padding='VALID', activation='none', dtype=self.dtype,
                        name='downsample')(x, train)
    return nn.relu(x + y)


class Bottleneck(nn.Module):
  features: int
  stride: int
  dilation: int
  keras: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    eps = 1.001e-5 if self.keras else 1e-5
    common = dict(use_bias=self.keras, bn_epsilon=eps, dtype=self.dtype)
    shortcut = x
    if self.stride != 1 or x.shape[-1] != 4 * self.features:
      shortcut = layers.ConvBN(4 * self.features, 1, self.stride, padding='VALID', activation='none',
                               name='downsample', **common)(x, train)
    s1, s3 = (self.stride, 1) if self.keras else (1, self.stride)
    y = layers.ConvBN(self.features, 1, s1, padding='VALID', name='conv_bn1', **common)(x, train)
    pad = 'SAME' if self.keras else layers.torch_padding(3, self.dilation)
    y = layers.ConvBN(self.features, 3, s3, self.dilation, padding=pad, name='conv_bn2', **common)(y, train)
    y = layers.ConvBN(4 * self.features, 1, padding='VALID', activation='none', name='conv_bn3', **common)(y, train)
    return nn.relu(shortcut + y)


class ResNet(nn.Module):
  """ResNet encoder returning stage1 (stride 2) .. stage5 (stride 32, or output_stride)."""
  depth: int = 50
  output_stride: int = 32
  flavour: str = 'torch'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.depth not in STAGE_SIZES:
      raise ValueError(f'ResNet depth must be one of {sorted(STAGE_SIZES)}, got {self.depth}')
    if self.flavour not in ('torch', 'keras'):
      raise ValueError(f"ResNet flavour must be 'torch' or 'keras', got {self.flavour!r}")
    layers.check_divisible(x, 32, f'resnet{self.depth}')
    keras = self.flavour == 'keras'
    x = layers.ConvBN(64, 7, 2, padding=((3, 3), (3, 3)), use_bias=keras, bn_epsilon=1.001e-5 if keras else 1e-5,
                      dtype=self.dtype, name='stem')(x, train)
    features = [x]
    x = layers.max_pool(x, 3, 2, ((1, 1), (1, 1)))
    tracker = layers.StrideTracker(self.output_stride, stride=4)
    for i, blocks in enumerate(STAGE_SIZES[self.depth]):
      for j in range(blocks):
        stride, dilation = tracker.step(2 if i > 0 and j == 0 else 1)
        if self.depth < 50:
          x = BasicBlock(64 * 2**i, stride, dilation, dtype=self.dtype, name=f'layer{i + 1}_{j}')(x, train)
        else:
          x = Bottleneck(64 * 2**i, stride, dilation, keras, dtype=self.dtype, name=f'layer{i + 1}_{j}')(x, train)
      features.append(x)
    return layers.stages_dict(features)
