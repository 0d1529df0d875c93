"""The default model: a small encoder-decoder for 128x128 spectrograms, trained from scratch.

Signals occupy frequency bands over time, so besides a U-Net path (three down/up levels with skips) each
level sees a time-pooled summary of its features: a column's mean over all rows, broadcast back. That gives
every pixel the whole frame's evidence for its frequency band at the cost of one mean per level.

With `stem_stride=2` a strided 3x3 convolution halves the image first and the logits are upsampled
bilinearly at the end: about 4x fewer FLOPs, which is what makes predict run faster than real time on a
laptop CPU, for band edges that stay sub-pixel accurate through the interpolated logits. A (time, frequency)
pair such as (1, 2) halves one axis only: rows are 312 µs apart, so a burst that fills one row (an SS/PBCH
block lasts 143-286 µs) is averaged with its empty neighbours by a stride along time but not along frequency.
`subpixel=True` keeps the stride's cost but not its blur: the stem rearranges each stride block's pixels into
channels (space to depth, nothing lost) before a 3x3 convolution, and the classifier predicts every pixel of
the block from its coarse position (depth to space) instead of interpolating coarse logits, so a one-row burst
can be labelled in its own row.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from specsense_jax.models import heads
from specsense_jax.models import layers


def _conv(x: jnp.ndarray, kernel: jnp.ndarray, padding) -> jnp.ndarray:
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def _stride_pair(stem_stride: int | tuple[int, int]) -> tuple[int, int]:
  """(time, frequency) strides of the stem, each 1 or 2."""
  pair = tuple(stem_stride) if isinstance(stem_stride, (tuple, list)) else (stem_stride, stem_stride)
  if len(pair) != 2 or any(isinstance(s, bool) or s not in (1, 2) or not isinstance(s, int) for s in pair):
    raise ValueError(f'custom: stem_stride must be 1, 2 or a (time, frequency) pair of them, got {stem_stride!r}')
  return pair


def space_to_depth(x: jnp.ndarray, block: tuple[int, int]) -> jnp.ndarray:
  """(B, H, W, C) -> (B, H / bh, W / bw, bh * bw * C): each block's pixels side by side as channels."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // block[0], block[0], w // block[1], block[1], c)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // block[0], w // block[1], block[0] * block[1] * c)


def depth_to_space(x: jnp.ndarray, block: tuple[int, int]) -> jnp.ndarray:
  """The inverse of `space_to_depth`."""
  b, h, w, c = x.shape
  x = x.reshape(b, h, w, block[0], block[1], c // (block[0] * block[1]))
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * block[0], w * block[1], c // (block[0] * block[1]))


class TimeContextConv(nn.Module):
  """3x3 'SAME' convolution of [x, its mean over time broadcast to every row], computed without the broadcast.

  The kernel is the one nn.Conv would hold for the 2C-channel concatenation (3, 3, 2C, F), and so are the
  results (up to float rounding), at about half the multiply-adds: the mean's half of the kernel sees the same
  column in every row, so it is a 1-D convolution along frequency per kernel row, summed over the kernel rows
  that fall inside the image (the zero padding cuts one off in the first and the last row).
  """
  features: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (3, 3, 2 * channels, self.features),
                        jnp.float32).astype(self.dtype)
    x = x.astype(self.dtype)
    y = _conv(x, kernel[:, :, :channels], ((1, 1), (1, 1)))
    # one 1-D convolution of the mean for all three kernel rows: (B, 1, W, 3F), kernel row r in block r
    mean_kernel = jnp.concatenate(list(kernel[:, :, channels:]), axis=-1)[None]
    per_row = _conv(jnp.mean(x, axis=1, keepdims=True), mean_kernel, ((0, 0), (1, 1)))
    above, centre, below = jnp.split(per_row, 3, axis=-1)  # row t-1's, t's and t+1's taps
    rows = x.shape[1]
    if rows == 1:
      return y + centre
    middle = jnp.broadcast_to(above + centre + below, (x.shape[0], rows - 2) + centre.shape[2:])
    return y + jnp.concatenate([centre + below, middle, above + centre], axis=1)


class TimeContextBlock(nn.Module):
  features: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    x = layers.ConvBN(self.features, 3, dtype=self.dtype, name='conv1')(x, train)
    # conv2 sees x and its mean over time (rows), as a convolution of their concatenation would
    return layers.ConvBN(self.features, 3, conv=TimeContextConv, dtype=self.dtype, name='conv2')(x, train)


class SpectrumUNet(nn.Module):
  num_classes: int
  widths: tuple[int, ...] = (16, 32, 64, 96)
  stem_stride: int | tuple[int, int] = 1  # one for both axes, or (time, frequency)
  subpixel: bool = False  # stride blocks into channels and back (module docstring) instead of a strided conv
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    strides = _stride_pair(self.stem_stride)
    if self.subpixel and strides == (1, 1):
      raise ValueError('custom: subpixel needs a stem_stride of 2 on at least one axis (at stride 1 every pixel '
                       'has its own logits already)')
    pooling = 2 ** (len(self.widths) - 1)
    layers.check_divisible(x, (pooling * strides[0], pooling * strides[1]), 'custom')
    image_size = x.shape[1:3]
    x = x.astype(self.dtype)
    if strides != (1, 1):
      if self.subpixel:
        x = space_to_depth(x, strides)
      x = layers.ConvBN(self.widths[0], 3, stride=(1, 1) if self.subpixel else strides, dtype=self.dtype,
                        name='stem')(x, train)
    skips = []
    for i, width in enumerate(self.widths):
      if i:
        x = layers.max_pool(x, 2, 2)
      x = TimeContextBlock(width, dtype=self.dtype, name=f'down{i}')(x, train)
      skips.append(x)
    for i in range(len(self.widths) - 2, -1, -1):
      x = heads.resize_bilinear(x, *skips[i].shape[1:3])
      x = jnp.concatenate([x, skips[i]], axis=-1)
      x = TimeContextBlock(self.widths[i], dtype=self.dtype, name=f'up{i}')(x, train)
    block = strides if self.subpixel else (1, 1)  # subpixel: every pixel of a stride block from its coarse one
    logits = layers.PointwiseConv(self.num_classes * block[0] * block[1], use_bias=True, dtype=self.dtype,
                                  name='classifier')(x)
    return heads.resize_bilinear(depth_to_space(logits, block), *image_size).astype(jnp.float32)
