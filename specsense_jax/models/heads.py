"""Heads over any encoder: DeepLabv3+ segmentation and a frame-level (multi-label) classifier."""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from specsense_jax.models import layers
from specsense_jax.models import pretrained


def resize_bilinear(x: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
  """NHWC bilinear resize with half-pixel centres, as `jax.image.resize`; doubling (the custom network's U-Net
  levels) takes `_upsample`'s elementwise form of the same weights. Measured on XLA:CPU in one process: the
  custom network trains 18 % and infers 13 % faster with it, but DeepLabv3+ ResNet-18's 4x upsampling trains
  20 % slower than with resize's matrix products, so larger factors keep those."""
  if x.shape[1:3] == (height, width):
    return x
  factors = (height // x.shape[1], width // x.shape[2])
  if (height, width) == (x.shape[1] * factors[0], x.shape[2] * factors[1]) and set(factors) <= {1, 2}:
    return _upsample(_upsample(x, 1, factors[0]), 2, factors[1])
  return jax.image.resize(x, (x.shape[0], height, width, x.shape[3]), 'bilinear')


def _upsample(x: jnp.ndarray, axis: int, factor: int) -> jnp.ndarray:
  """Bilinear upsampling of one axis by a whole `factor`: output k of each input pixel i sits at i + d,
  d = (k + 1/2) / factor - 1/2, between pixels i and i -/+ 1 (the edge pixel repeated past the ends, which is
  what jax.image.resize's renormalised weights give there). Elementwise, so XLA fuses it with its neighbours
  instead of running two matrix products per resize (forward and backward)."""
  if factor == 1:
    return x
  n = x.shape[axis]
  take = functools.partial(jax.lax.slice_in_dim, x, axis=axis)
  before = jnp.concatenate([take(0, 1), take(0, n - 1)], axis=axis)   # pixel i - 1, clamped
  after = jnp.concatenate([take(1, n), take(n - 1, n)], axis=axis)    # pixel i + 1, clamped
  phases = []
  for k in range(factor):
    d = (k + 0.5) / factor - 0.5
    phases.append(-d * before + (1 + d) * x if d < 0 else (1 - d) * x + d * after)
  out = jnp.stack(phases, axis=axis + 1)
  return out.reshape(x.shape[:axis] + (n * factor,) + x.shape[axis + 1:])


class SeparableConvBN(nn.Module):
  """Depthwise (dilated) 3x3 then pointwise 1x1, BatchNorm, ReLU: DeepLabv3+'s atrous separable conv."""
  features: int
  dilation: int = 1
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    x = layers.DepthwiseConv(3, dilation=self.dilation, dtype=self.dtype, name='depthwise')(x)
    return layers.ConvBN(self.features, 1, dtype=self.dtype, name='pointwise')(x, train)


def conv3x3(features: int, dilation: int, separable: bool, dtype, name: str) -> nn.Module:
  if separable:
    return SeparableConvBN(features, dilation, dtype=dtype, name=name)
  return layers.ConvBN(features, 3, dilation=dilation, dtype=dtype, name=name)


# ASPP's pooling branch: the axes it averages over. 'time' keeps each frequency column's mean over the frame (rows
# are time), the custom network's time context: carriers hold their band for the frame, so at low SNR the
# column means show them where single pixels do not.
POOLING_AXES = {'image': (1, 2), 'time': (1,)}


class ASPP(nn.Module):
  """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and a pooling branch (`POOLING_AXES`), then 1x1."""
  rates: tuple[int, ...]
  features: int = 256
  separable: bool = True
  dtype: Any = jnp.float32
  pooling: str = 'image'

  @nn.compact
  def __call__(self, x, train=False):
    branches = [layers.ConvBN(self.features, 1, dtype=self.dtype, name='conv1x1')(x, train)]
    for i, rate in enumerate(self.rates):
      branches.append(conv3x3(self.features, rate, self.separable, self.dtype, f'atrous{i}')(x, train))
    pooled = jnp.mean(x, axis=POOLING_AXES[self.pooling], keepdims=True)
    pooled = layers.ConvBN(self.features, 1, dtype=self.dtype, name='image_pool')(pooled, train)
    branches.append(jnp.broadcast_to(pooled, x.shape[:3] + (self.features,)))
    x = jnp.concatenate(branches, axis=-1)
    return layers.ConvBN(self.features, 1, dtype=self.dtype, name='project')(x, train)


class TimeContext(nn.Module):
  """Adds to every pixel a linear map of its frequency column's mean over time (rows): carriers keep their band
  for the frame, and the column means show them at SNRs where single pixels do not (the custom network's time
  context). The map starts at zero, so the layer starts as the identity: a network grown from weights without it
  starts where they left off."""
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    kernel = self.param('kernel', nn.initializers.zeros, (channels, channels), jnp.float32).astype(self.dtype)
    return x + jnp.dot(jnp.mean(x, axis=1, keepdims=True).astype(self.dtype), kernel)


class DeepLabV3Plus(nn.Module):
  """DeepLabv3+ (Chen et al., 2018): ASPP on the last stage, a decoder with a 48-channel projection of the
  stride-4 map and two 3x3 convs, bilinear upsampling to the input size. Returns float32 logits (N, H, W, C).
  The 3x3 convs of ASPP and decoder are atrous separable (depthwise + pointwise) as in the paper, unless
  `separable=False`; `decoder_convs=1` gives segmentation_models_pytorch's lighter decoder."""
  encoder: Callable[[], nn.Module]
  num_classes: int
  output_stride: int = 16
  separable: bool = True
  decoder_convs: int = 2
  dtype: Any = jnp.float32
  input_transform: str | None = None  # a key of pretrained.INPUT_TRANSFORMS, for ImageNet-initialized encoders
  atrous_rates: tuple[int, ...] | None = None  # ASPP's dilations; None: 6/12/18 at output stride 16, doubled at 8
  aspp_pooling: str = 'image'  # a key of POOLING_AXES
  decoder_time_context: bool = False  # a TimeContext on the decoder's input (ASPP's output and the skip)

  @nn.compact
  def __call__(self, x, train: bool = False):
    height, width = x.shape[1:3]
    if self.input_transform:
      x = pretrained.INPUT_TRANSFORMS[self.input_transform](x)
    features = self.encoder(name='encoder')(x, train)
    rates = self.atrous_rates or tuple(r * 16 // self.output_stride for r in (6, 12, 18))
    high = ASPP(rates, separable=self.separable, dtype=self.dtype, pooling=self.aspp_pooling,
                name='aspp')(features['stage5'], train)
    low = layers.ConvBN(48, 1, dtype=self.dtype, name='low_level')(features['stage2'], train)
    high = resize_bilinear(high, *low.shape[1:3])
    y = jnp.concatenate([high, low], axis=-1)
    if self.decoder_time_context:
      y = TimeContext(self.dtype, name='time_context')(y)
    for i in range(self.decoder_convs):
      y = conv3x3(256, 1, self.separable, self.dtype, f'decoder{i + 1}')(y, train)
    y = layers.PointwiseConv(self.num_classes, use_bias=True, dtype=self.dtype, name='classifier')(y)
    return resize_bilinear(y, height, width).astype(jnp.float32)


class Classifier(nn.Module):
  """Global average pooling of the last stage and a dense layer: logits (N, num_classes). With 1,000 classes
  and an ImageNet encoder this is the ImageNet classifier (the dense layer is named like Keras')."""
  encoder: Callable[[], nn.Module]
  num_classes: int
  dtype: Any = jnp.float32
  input_transform: str | None = None  # a key of pretrained.INPUT_TRANSFORMS, for ImageNet-initialized encoders

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.input_transform:
      x = pretrained.INPUT_TRANSFORMS[self.input_transform](x)
    features = self.encoder(name='encoder')(x, train)
    pooled = layers.global_average(features['stage5'])
    return nn.Dense(self.num_classes, dtype=self.dtype, name='predictions')(pooled).astype(jnp.float32)
