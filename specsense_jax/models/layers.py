"""Building blocks shared by the encoders: conv + BatchNorm + activation, padding conventions, strides."""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

KERNELS_ENV = 'SPECSENSE_LAYER_KERNELS'  # 'cpu' or 'native' overrides the choice by backend (`cpu_kernels`)


def cpu_kernels() -> bool:
  """Whether `DepthwiseConv`, `PointwiseConv` and `max_pool` take their XLA:CPU forms (shifted sums with a
  custom gradient, a matrix product, strided slices), decided when a model is traced: on the CPU backend, or as
  SPECSENSE_LAYER_KERNELS says. Elsewhere they are XLA's own grouped convolution, 1x1 convolution and
  reduce_window, which GPU and TPU compilers tile and fuse themselves. Both forms take the same parameters and
  give the same results."""
  choice = os.environ.get(KERNELS_ENV, '')
  if choice not in ('', 'cpu', 'native'):
    raise ValueError(f'{KERNELS_ENV} must be "cpu" or "native" (or unset: by backend), got {choice!r}')
  return choice == 'cpu' if choice else jax.default_backend() == 'cpu'


ACTIVATIONS: dict[str, Callable[[jnp.ndarray], jnp.ndarray]] = {
    'relu': nn.relu, 'relu6': nn.relu6, 'swish': nn.swish, 'sigmoid': nn.sigmoid, 'none': lambda x: x,
}


def torch_padding(kernel: int, dilation: int = 1) -> tuple[tuple[int, int], tuple[int, int]]:
  """Symmetric padding of PyTorch-style convolutions (padding = dilation·(k-1)/2)."""
  p = dilation * (kernel - 1) // 2
  return ((p, p), (p, p))


@dataclasses.dataclass
class StrideTracker:
  """Turns strides into dilation once the output stride is reached (DeepLab's atrous encoders)."""
  output_stride: int
  stride: int = 1
  dilation: int = 1

  def step(self, stride: int) -> tuple[int, int]:
    """Returns (stride, dilation) to use for an op that asks for `stride`."""
    if stride == 1:
      return 1, self.dilation
    if self.stride * stride > self.output_stride:
      current = self.dilation
      self.dilation *= stride
      return 1, current
    self.stride *= stride
    return stride, self.dilation


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
  effective = dilation * (kernel - 1) + 1
  out = -(-size // stride)
  total = max((out - 1) * stride + effective - size, 0)
  return total // 2, total - total // 2


def _taps(xp: jnp.ndarray, kernel: jnp.ndarray, dilation: int, stride: int, out_h: int, out_w: int):
  k = kernel.shape[0]
  out = None
  for i in range(k):
    for j in range(k):
      patch = xp[:, i * dilation:i * dilation + (out_h - 1) * stride + 1:stride,
                 j * dilation:j * dilation + (out_w - 1) * stride + 1:stride, :]
      term = patch * kernel[i, j, 0]
      out = term if out is None else out + term
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _depthwise_stride1(xp: jnp.ndarray, kernel: jnp.ndarray, dilation: int) -> jnp.ndarray:
  span = dilation * (kernel.shape[0] - 1)
  return _taps(xp, kernel, dilation, 1, xp.shape[1] - span, xp.shape[2] - span)


def _depthwise_fwd(xp, kernel, dilation):
  return _depthwise_stride1(xp, kernel, dilation), (xp, kernel)


def _depthwise_bwd(dilation, residuals, ct):
  # The input gradient is the same shifted-sum with the flipped kernel over the padded cotangent, and each
  # kernel tap's gradient a channel-wise dot product: both stay elementwise-plus-reduce, which XLA:CPU runs
  # several times faster than the autodiff of the slices.
  xp, kernel = residuals
  k = kernel.shape[0]
  span = dilation * (k - 1)
  ctp = jnp.pad(ct, ((0, 0), (span, span), (span, span), (0, 0)))
  grad_xp = _taps(ctp, kernel[::-1, ::-1], dilation, 1, xp.shape[1], xp.shape[2])
  flat_ct = ct.reshape(-1, ct.shape[-1])
  grad_kernel = jnp.stack([jnp.stack([
      (xp[:, i * dilation:i * dilation + ct.shape[1], j * dilation:j * dilation + ct.shape[2], :]
       .reshape(-1, ct.shape[-1]) * flat_ct).sum(axis=0) for j in range(k)]) for i in range(k)])
  return grad_xp, grad_kernel[:, :, None, :].astype(kernel.dtype)


_depthwise_stride1.defvjp(_depthwise_fwd, _depthwise_bwd)


class DepthwiseConv(nn.Module):
  """Depthwise convolution as a sum of k·k shifted, per-channel-scaled copies of the input.

  Same parameter ('kernel', shape (k, k, 1, C)) and results as nn.Conv with feature_group_count=C, but
  built from elementwise ops that XLA fuses; XLA:CPU's grouped convolutions are several times slower.
  """
  kernel_size: int
  stride: int = 1
  dilation: int = 1
  padding: Any = 'SAME'
  use_bias: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    k, s, d = self.kernel_size, self.stride, self.dilation
    channels = x.shape[-1]
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (k, k, 1, channels), jnp.float32)
    if self.padding == 'SAME':
      pads = [_same_padding(x.shape[1], k, s, d), _same_padding(x.shape[2], k, s, d)]
    elif self.padding == 'VALID':
      pads = [(0, 0), (0, 0)]
    else:
      pads = [tuple(p) for p in self.padding]
    x = jnp.pad(x.astype(self.dtype), ((0, 0), pads[0], pads[1], (0, 0)))
    kernel = kernel.astype(self.dtype)
    if not cpu_kernels():
      out = jax.lax.conv_general_dilated(x, kernel, (s, s), 'VALID', rhs_dilation=(d, d),
                                         dimension_numbers=('NHWC', 'HWIO', 'NHWC'), feature_group_count=channels)
    elif s == 1:
      out = _depthwise_stride1(x, kernel, d)
    else:
      out = _taps(x, kernel, d, s, (x.shape[1] - d * (k - 1) - 1) // s + 1, (x.shape[2] - d * (k - 1) - 1) // s + 1)
    if self.use_bias:
      out = out + self.param('bias', nn.initializers.zeros, (channels,), jnp.float32).astype(self.dtype)
    return out


class PointwiseConv(nn.Module):
  """1x1 convolution (unpadded, `stride` in both axes) as a matrix product over channels: same 'kernel'
  (1, 1, C, F) and results as nn.Conv, but XLA:CPU differentiates a dot about twice as fast as a 1x1
  convolution, and a strided one reads every `stride`-th pixel first (its convolution gradient transposes both
  operands: 0.2 s of a DeepLabv3+ ResNet-50 training step at 256)."""
  features: int
  use_bias: bool = False
  dtype: Any = jnp.float32
  stride: int = 1

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (1, 1, x.shape[-1], self.features), jnp.float32)
    if cpu_kernels():
      y = jnp.dot(x[:, ::self.stride, ::self.stride].astype(self.dtype), kernel[0, 0].astype(self.dtype))
    else:
      y = jax.lax.conv_general_dilated(x.astype(self.dtype), kernel.astype(self.dtype), (self.stride,) * 2,
                                       'VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,), jnp.float32).astype(self.dtype)
    return y


def _unpadded(padding: Any) -> bool:
  # A 1x1 window needs no padding under 'SAME' either: (ceil(n / s) - 1) * s + 1 <= n.
  if isinstance(padding, str):
    return padding in ('SAME', 'VALID')
  return not np.any(padding)


class ConvBN(nn.Module):
  """Conv -> BatchNorm -> activation."""
  features: int
  kernel: int = 3
  stride: int | tuple[int, int] = 1  # a (height, width) pair only for a full convolution (kernel > 1, one group)
  dilation: int = 1
  groups: int = 1
  padding: Any = 'SAME'
  activation: str = 'relu'
  use_bias: bool = False
  bn_epsilon: float = 1e-5
  bn_momentum: float = 0.99
  bn_scale: bool = True
  dtype: Any = jnp.float32
  conv_name: str | None = None
  bn_name: str | None = None
  conv: Any = None  # a convolution module class, called as conv(features, dtype=, name=), instead of the choice below

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.conv is not None:
      x = self.conv(self.features, dtype=self.dtype, name=self.conv_name or 'conv')(x)
    elif self.kernel == 1 and self.groups == 1 and _unpadded(self.padding):  # dilation is moot for 1x1
      x = PointwiseConv(self.features, self.use_bias, self.dtype, self.stride, name=self.conv_name or 'conv')(x)
    elif self.groups > 1 and self.groups == x.shape[-1] == self.features:
      x = DepthwiseConv(self.kernel, self.stride, self.dilation, self.padding, self.use_bias, self.dtype,
                        name=self.conv_name or 'conv')(x)
    else:
      x = nn.Conv(self.features, (self.kernel, self.kernel), strides=self.stride, padding=self.padding,
                  kernel_dilation=self.dilation, feature_group_count=self.groups, use_bias=self.use_bias,
                  dtype=self.dtype, name=self.conv_name or 'conv')(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, epsilon=self.bn_epsilon,
                     use_scale=self.bn_scale, dtype=self.dtype, name=self.bn_name or 'bn')(x)
    return ACTIVATIONS[self.activation](x)


def check_divisible(x: jnp.ndarray, factor: int | tuple[int, int], encoder: str) -> None:
  """Raises a clear error when the input size is not a multiple of the encoder's total stride (one, or per axis)."""
  h, w = x.shape[1:3]
  fh, fw = factor if isinstance(factor, (tuple, list)) else (factor, factor)
  if h % fh or w % fw:
    needed = f'height and width divisible by {fh}' if fh == fw else f'height divisible by {fh} and width by {fw}'
    raise ValueError(f'{encoder} needs input {needed}; got {h}x{w}. Resize the images (e.g. to '
                     f'{max(fh, h // fh * fh)}x{max(fw, w // fw * fw)}) or choose another encoder')


def _window_patches(x: jnp.ndarray, window: int, stride: int):
  out_h = (x.shape[1] - window) // stride + 1
  out_w = (x.shape[2] - window) // stride + 1
  for i in range(window):
    for j in range(window):
      yield i, j, x[:, i:i + (out_h - 1) * stride + 1:stride, j:j + (out_w - 1) * stride + 1:stride, :]


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _strided_max(x: jnp.ndarray, window: int, stride: int) -> jnp.ndarray:
  return _strided_max_fwd(x, window, stride)[0]


def _strided_max_fwd(x, window, stride):
  # The first maximum in window order takes the gradient, as reduce_window's select-and-scatter gives it.
  out = index = None
  index_dtype = jnp.int8 if window * window <= 127 else jnp.int32
  for i, j, patch in _window_patches(x, window, stride):
    if out is None:
      out, index = patch, jnp.zeros(patch.shape, index_dtype)
    else:
      index = jnp.where(patch > out, jnp.asarray(i * window + j, index_dtype), index)
      out = jnp.maximum(out, patch)
  return out, (index, x.shape)


def _strided_max_bwd(window, stride, residuals, ct):
  # Each tap's share of the cotangent, spread back onto the input grid by an interior-padded pad: one
  # elementwise pass where the autodiff of the chained maxima recomputed them (5 % of a ResNet-18 step).
  index, shape = residuals
  out_h, out_w = ct.shape[1:3]
  grad = None
  for i in range(window):
    for j in range(window):
      share = jnp.where(index == i * window + j, ct, jnp.zeros((), ct.dtype))
      config = [(0, 0, 0), (i, shape[1] - i - (out_h - 1) * stride - 1, stride - 1),
                (j, shape[2] - j - (out_w - 1) * stride - 1, stride - 1), (0, 0, 0)]
      term = jax.lax.pad(share, jnp.zeros((), ct.dtype), config)
      grad = term if grad is None else grad + term
  return (grad,)


_strided_max.defvjp(_strided_max_fwd, _strided_max_bwd)


def max_pool(x: jnp.ndarray, window: int = 3, stride: int = 2, padding: Any = 'VALID') -> jnp.ndarray:
  """Max pooling as the maximum of window·window strided slices (padding with -inf).

  Same values and gradient as nn.max_pool (the first maximum of a window takes it); XLA:CPU runs both passes
  far faster than reduce_window's select-and-scatter.
  """
  if padding == 'SAME':
    pads = [_same_padding(x.shape[1], window, stride, 1), _same_padding(x.shape[2], window, stride, 1)]
  elif padding == 'VALID':
    pads = [(0, 0), (0, 0)]
  else:
    pads = [tuple(p) for p in padding]
  if not cpu_kernels():
    return nn.max_pool(x, (window, window), strides=(stride, stride), padding=pads)
  if any(p != (0, 0) for p in pads):
    x = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-jnp.inf)
  return _strided_max(x, window, stride)


def global_average(x: jnp.ndarray) -> jnp.ndarray:
  return jnp.mean(x, axis=(1, 2))


def stages_dict(features: Sequence[jnp.ndarray]) -> dict[str, jnp.ndarray]:
  return {f'stage{i + 1}': f for i, f in enumerate(features)}


class InvertedResidual(nn.Module):
  """MobileNetV2's inverted residual, and with squeeze-excitation EfficientNet's MBConv: 1x1 expand, depthwise
  conv, optional squeeze-excite (`se_ratio` of the input channels, swish then sigmoid gate), linear 1x1 project,
  identity shortcut when shapes allow. Submodule names follow Keras (`expand`, `depthwise`, `se_reduce`,
  `se_expand`, `project`) so the weight importers serve both networks."""
  features: int
  expansion: int
  stride: int = 1
  dilation: int = 1
  kernel: int = 3
  activation: str = 'relu6'
  se_ratio: float = 0.0
  bn_epsilon: float = 1e-3
  bn_momentum: float = 0.999
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    inputs, channels = x, x.shape[-1]
    bn = dict(bn_epsilon=self.bn_epsilon, bn_momentum=self.bn_momentum, dtype=self.dtype)
    if self.expansion != 1:
      x = ConvBN(channels * self.expansion, 1, activation=self.activation, name='expand', **bn)(x, train)
    x = ConvBN(x.shape[-1], self.kernel, self.stride, self.dilation, groups=x.shape[-1],
               activation=self.activation, name='depthwise', **bn)(x, train)
    if self.se_ratio:
      se = jnp.mean(x, axis=(1, 2), keepdims=True)
      se = nn.swish(PointwiseConv(max(1, int(channels * self.se_ratio)), use_bias=True, dtype=self.dtype,
                                  name='se_reduce')(se))
      x = x * nn.sigmoid(PointwiseConv(x.shape[-1], use_bias=True, dtype=self.dtype, name='se_expand')(se))
    x = ConvBN(self.features, 1, activation='none', name='project', **bn)(x, train)
    if self.stride == 1 and channels == self.features:
      x = x + inputs  # (EfficientNet's stochastic depth is a training-time regularizer; omitted)
    return x
