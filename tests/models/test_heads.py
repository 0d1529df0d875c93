"""The DeepLabv3+ head against hand calculations: a stub encoder and weights set by hand, so that every conv is
a known multiple of its inputs (depthwise kernels are the identity: 1 at the centre tap, 0 elsewhere; BatchNorm
in inference mode with mean 0, variance 1, scale 1, bias 0 multiplies by 1/sqrt(1 + 1e-5)). Any change of the
head's wiring (a branch, the skip connection's projection, the order of a concatenation, the pooling, the
upsampling) changes the outputs or the parameter tree, and fails these tests."""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from specsense_jax.models import heads

BN = 1 / np.sqrt(1 + 1e-5)  # inference BatchNorm with unit statistics
SIZE = 32                   # input 32x32: stage2 (stride 4) 8x8, stage5 (stride 16) 2x2


class _StubEncoder(nn.Module):
  """No parameters: stage2 is the input's first channel averaged over 4x4 blocks (5 channels), stage5 over
  16x16 blocks (3 channels)."""

  @nn.compact
  def __call__(self, x, train=False):
    n, h, w, _ = x.shape
    pool = lambda f: x[..., :1].reshape(n, h // f, f, w // f, f, 1).mean((2, 4))
    return {'stage2': jnp.repeat(pool(4), 5, -1), 'stage5': jnp.repeat(pool(16), 3, -1)}


# Pointwise weights by module: every entry of the module's 1x1 kernel, or per block of its input channels.
WEIGHTS = {
    'aspp/conv1x1': 0.1, 'aspp/atrous0': 0.2, 'aspp/atrous1': 0.3, 'aspp/atrous2': -0.4, 'aspp/image_pool': 0.5,
    'aspp/project': [0.01] * 256 + [0.02] * 256 + [0.03] * 256 + [0.04] * 256 + [0.05] * 256,  # by branch
    'low_level': 0.6,
    'decoder1': [0.01] * 256 + [0.5] * 48,  # the upsampled ASPP output, then the skip connection's 48 channels
    'decoder2': 0.03,
}
CLASSIFIER = (np.array([0.01, -0.02]), np.array([0.1, 0.2]))  # kernel entry and bias of each of 2 classes


def _set_by_hand(variables, weights):
  """The model's variables with every leaf replaced by its hand-set value (a KeyError for any other leaf)."""
  out = {}
  for path, leaf in flax.traverse_util.flatten_dict(variables).items():
    collection, name = path[0], '/'.join(path[1:])
    if name.endswith('depthwise/kernel'):
      value = np.zeros(leaf.shape, np.float32)
      value[1, 1] = 1.0
    elif name.endswith(('bn/scale', 'bn/var')):
      value = np.ones(leaf.shape, np.float32)
    elif name.endswith(('bn/bias', 'bn/mean')):
      value = np.zeros(leaf.shape, np.float32)
    elif name == 'classifier/kernel':
      value = np.broadcast_to(CLASSIFIER[0], leaf.shape)
    elif name == 'classifier/bias':
      value = CLASSIFIER[1]
    else:
      module = name.removesuffix('/kernel').removesuffix('/conv').removesuffix('/pointwise')
      value = np.broadcast_to(np.reshape(weights[module], (-1, 1)), leaf.shape[2:])[None, None]
      assert collection == 'params' and value.shape == leaf.shape, name
    out[path] = jnp.asarray(value, jnp.float32)
  return flax.traverse_util.unflatten_dict(out)


MODEL = heads.DeepLabV3Plus(_StubEncoder, num_classes=2)
APPLY = jax.jit(MODEL.apply)  # one compilation serves every test


def _logits(image: np.ndarray, weights) -> np.ndarray:
  x = jnp.asarray(image, jnp.float32)[None, :, :, None].repeat(3, -1)
  variables = _set_by_hand(jax.eval_shape(MODEL.init, jax.random.key(0), x), weights)  # shapes only
  return np.asarray(APPLY(variables, x))[0]


def _classify(decoder2: np.ndarray) -> np.ndarray:
  """(..., 2) logits of the classifier on 256 equal decoder channels."""
  return 256 * decoder2[..., None] * CLASSIFIER[0] + CLASSIFIER[1]


def _decoder(high: np.ndarray, low: np.ndarray) -> np.ndarray:
  """decoder1 (256 ASPP channels at 0.01, 48 skip channels at 0.5) then decoder2 (256 at 0.03), ReLU each."""
  d1 = np.maximum(BN * (256 * 0.01 * high + 48 * 0.5 * low), 0)
  return np.maximum(BN * 256 * 0.03 * d1, 0)


def test_constant_input_gives_the_hand_calculated_logits():
  a = b = 0.5  # the 3 stage5 and 5 stage2 channels of a constant 0.5 image
  # 1x1, 3 atrous (the last negative: its ReLU gives 0), image pooling
  branches = [np.maximum(BN * 3 * w * a, 0) for w in (0.1, 0.2, 0.3, -0.4, 0.5)]
  project = np.maximum(BN * 256 * np.dot([0.01, 0.02, 0.03, 0.04, 0.05], branches), 0)
  low = np.maximum(BN * 5 * 0.6 * b, 0)
  expected = _classify(_decoder(project, low))  # about (1.5e3, -2.9e3)
  logits = _logits(np.full((SIZE, SIZE), 0.5), WEIGHTS)
  assert logits.shape == (SIZE, SIZE, 2)
  np.testing.assert_allclose(logits, np.broadcast_to(expected, logits.shape), rtol=2e-5)
  # Without the skip connection's contribution (48 x 0.5 x 1.5 = 36 of decoder1's ~74) the logits would be about
  # half: the test sees the projection.
  assert not np.allclose(logits[0, 0], _classify(_decoder(project, 0.0)), rtol=0.1)


QUADRANTS = np.kron(np.array([[0.1, 0.3], [0.5, 0.7]]), np.ones((16, 16)))  # stage5 = these four values


def test_image_pooling_branch_pools_the_whole_stage5_map():
  # Only the image-pooling branch and no skip: the output is the same everywhere, from the mean 0.4 of stage5.
  weights = {**WEIGHTS, 'aspp/conv1x1': 0.0, 'aspp/atrous0': 0.0, 'aspp/atrous1': 0.0, 'aspp/atrous2': 0.0,
             'low_level': 0.0}
  pooled = np.maximum(BN * 3 * 0.5 * 0.4, 0)
  expected = _classify(_decoder(np.maximum(BN * 256 * 0.05 * pooled, 0), 0.0))
  logits = _logits(QUADRANTS, weights)
  np.testing.assert_allclose(logits, np.broadcast_to(expected, logits.shape), rtol=2e-5)


def test_time_pooling_branch_pools_each_frequency_column_over_time():
  # aspp_pooling='time': the branch keeps stage5's column means (0.1 + 0.5) / 2 = 0.3 and (0.3 + 0.7) / 2 = 0.5,
  # the same for every row (time), so the logits change along frequency only.
  weights = {**WEIGHTS, 'aspp/conv1x1': 0.0, 'aspp/atrous0': 0.0, 'aspp/atrous1': 0.0, 'aspp/atrous2': 0.0,
             'low_level': 0.0}
  model = heads.DeepLabV3Plus(_StubEncoder, num_classes=2, aspp_pooling='time')
  x = jnp.asarray(QUADRANTS, jnp.float32)[None, :, :, None].repeat(3, -1)
  variables = _set_by_hand(jax.eval_shape(model.init, jax.random.key(0), x), weights)
  logits = np.asarray(jax.jit(model.apply)(variables, x))[0]
  pooled = np.maximum(BN * 3 * 0.5 * np.array([0.3, 0.5]), 0)
  project = np.maximum(BN * 256 * 0.05 * pooled, 0)
  expected = _upsample(_classify(_decoder(_upsample(np.broadcast_to(project, (2, 2)), 8), 0.0)), SIZE)
  np.testing.assert_allclose(logits, expected, rtol=2e-5)
  assert np.all(logits == logits[:1]) and logits[0, 0, 0] != logits[0, -1, 0]
  np.testing.assert_array_equal(  # the same weights as image pooling's
      jax.tree.map(np.shape, variables), jax.tree.map(np.shape, jax.eval_shape(MODEL.init, jax.random.key(0), x)))


def test_time_context_adds_a_linear_map_of_each_columns_mean_over_time():
  x = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype(np.float32)
  kernel = np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32)
  layer = heads.TimeContext()
  variables = layer.init(jax.random.key(0), x)
  np.testing.assert_array_equal(layer.apply(variables, x), x)  # zero at initialization: the identity
  expected = x + np.einsum('nwc,cf->nwf', x.mean(axis=1), kernel)[:, None]  # rows are time
  np.testing.assert_allclose(layer.apply({'params': {'kernel': kernel}}, x), expected, rtol=1e-5, atol=1e-6)


def _upsample(x: np.ndarray, size: int) -> np.ndarray:
  """Bilinear upsampling of the first two axes to size x size, half-pixel centres and clamped edges."""
  for axis in (0, 1):
    n = x.shape[axis]
    position = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    lo = np.floor(position).astype(int)
    t = np.expand_dims(position - lo, tuple(range(1, x.ndim)) if axis == 0 else (0,) + tuple(range(2, x.ndim)))
    x = np.take(x, lo, axis) * (1 - t) + np.take(x, np.minimum(lo + 1, n - 1), axis) * t
  return x


def test_aspp_output_is_upsampled_bilinearly_to_stride_4_then_the_logits_to_the_input():
  # Only the 1x1 branch and no skip: ASPP gives 2x2 values, upsampled to 8x8 before the decoder, whose logits are
  # upsampled to 32x32.
  weights = {**WEIGHTS, 'aspp/atrous0': 0.0, 'aspp/atrous1': 0.0, 'aspp/atrous2': 0.0, 'aspp/image_pool': 0.0,
             'low_level': 0.0}
  stage5 = np.array([[0.1, 0.3], [0.5, 0.7]])
  project = np.maximum(BN * 256 * 0.01 * np.maximum(BN * 3 * 0.1 * stage5, 0), 0)
  expected = _upsample(_classify(_decoder(_upsample(project, 8), 0.0)), SIZE)
  logits = _logits(QUADRANTS, weights)
  np.testing.assert_allclose(logits, expected, rtol=2e-5)
  # Clamped edges then interpolation: output rows 0-5 see only stage5's first row; from row 6 the values rise.
  assert logits[0, 0, 0] == logits[5, 0, 0] < logits[8, 0, 0] < logits[16, 0, 0] < logits[31, 0, 0]


def test_resize_bilinear_equals_jax_image_resize():
  # Doubling takes the elementwise form, other sizes jax.image.resize: the values and gradients of both agree
  # with jax.image.resize's half-pixel bilinear weights (edges: the outermost pixel repeated).
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 7, 3)), jnp.float32)
  np.testing.assert_allclose(heads.resize_bilinear(x[:, :1, :1], 2, 2)[0, :, :, 0], np.full((2, 2), x[0, 0, 0, 0]))
  for height, width in [(10, 14), (10, 7), (5, 14), (20, 28), (9, 12), (1, 14)]:
    resize = lambda x: jax.image.resize(x, (2, height, width, 3), 'bilinear')
    np.testing.assert_allclose(heads.resize_bilinear(x, height, width), resize(x), atol=1e-6)
    cotangent = jnp.asarray(np.random.default_rng(1).normal(size=(2, height, width, 3)), jnp.float32)
    np.testing.assert_allclose(jax.grad(lambda x: jnp.sum(heads.resize_bilinear(x, height, width) * cotangent))(x),
                               jax.grad(lambda x: jnp.sum(resize(x) * cotangent))(x), atol=1e-5)
  # by hand: doubling [0, 4] along a row gives [0, 1, 3, 4] (weights 3/4, 1/4 between the centres)
  row = jnp.asarray([0.0, 4.0]).reshape(1, 1, 2, 1)
  np.testing.assert_allclose(heads.resize_bilinear(row, 1, 4).reshape(-1), [0, 1, 3, 4])
