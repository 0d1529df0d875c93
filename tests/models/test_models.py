"""Model zoo: published parameter counts, every encoder x head x size x output stride, registry errors."""

import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax.models import build_model, ENCODERS, MODELS
from specsense_jax.models import custom
from specsense_jax.models import registry


def _counts(name, size=224, num_classes=1000):
  model = build_model(name, num_classes)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, size, size, 3)))
  count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))
  return count(shapes['params']), count(shapes.get('batch_stats', {}))


# Parameters of the ImageNet classifiers (torchvision's count parameters; Keras' count every weight,
# BatchNorm statistics included, so both numbers are checked there).
@pytest.mark.parametrize('name,params,total', [
    ('classifier_resnet18', 11_689_512, None),            # torchvision resnet18: 11.7 M
    ('classifier_resnet50', 25_557_032, None),            # torchvision resnet50: 25.6 M
    ('classifier_resnet50_keras', 25_583_592, 25_636_712),  # keras ResNet50: 25.6 M
    ('classifier_mobilenetv2', 3_504_872, 3_538_984),     # keras MobileNetV2: 3.5 M
    ('classifier_efficientnet_b0', 5_288_548, 5_330_571),  # keras EfficientNetB0: 5.3 M
    ('classifier_efficientnet_b7', 66_347_960, 66_658_687),  # keras EfficientNetB7: 66 M
    ('classifier_densenet121', 7_978_856, 8_062_504),     # keras DenseNet121: 8.0 M
    ('classifier_inception_v3', 23_817_352, 23_851_784),  # keras InceptionV3: 23.8 M
])
def test_imagenet_classifier_parameter_counts(name, params, total):
  trainable, stats = _counts(name, 299 if 'inception' in name else 224)
  assert trainable == params
  if total is not None:
    assert trainable + stats == total


# Every encoder at the default output stride; the other strides once per family (its members share the stride
# logic and differ in widths and depths); 256x256 for the largest network and the valid-padding one.
_FAMILY_REPRESENTATIVES = ('densenet121', 'efficientnet_b0', 'inception_v3', 'mobilenetv2', 'resnet18', 'resnet50',
                           'resnet50_keras')
_HEAD_CASES = ([(encoder, 128, 16) for encoder in sorted(ENCODERS)]
               + list(itertools.product(_FAMILY_REPRESENTATIVES, (128,), (8, 32)))
               + [('efficientnet_b7', 256, 8), ('inception_v3', 256, 32)])


@pytest.mark.parametrize('encoder,size,output_stride', _HEAD_CASES)
def test_every_encoder_builds_both_heads(encoder, size, output_stride):
  images = jnp.zeros((2, size, size, 3))
  seg = build_model(f'deeplabv3plus_{encoder}', 3, output_stride=output_stride)
  variables = jax.eval_shape(seg.init, jax.random.key(0), images)
  assert jax.eval_shape(seg.apply, variables, images).shape == (2, size, size, 3)
  cls = build_model(f'classifier_{encoder}', 2, output_stride=output_stride)
  variables = jax.eval_shape(cls.init, jax.random.key(0), images)
  assert jax.eval_shape(cls.apply, variables, images).shape == (2, 2)


@pytest.mark.parametrize('encoder,output_stride', [('resnet50', 8), ('mobilenetv2', 16), ('densenet121', 8),
                                                    ('efficientnet_b0', 16), ('inception_v3', 16)])
def test_output_stride_sets_feature_resolution(encoder, output_stride):
  module = ENCODERS[encoder](output_stride=output_stride)
  images = jnp.zeros((1, 256, 256, 3))
  features = jax.eval_shape(module.apply, jax.eval_shape(module.init, jax.random.key(0), images), images)
  if encoder == 'inception_v3':  # valid padding: sizes are not exact fractions
    assert features['stage5'].shape[1] == features['stage4'].shape[1]
  else:
    assert [features[f'stage{i}'].shape[1] for i in range(1, 6)] == [
        256 // min(2**i, output_stride) for i in range(1, 6)]


@pytest.mark.parametrize('kwargs, first_level', [
    ({'stem_stride': 1}, (128, 128)), ({'stem_stride': 2}, (64, 64)), ({'stem_stride': (1, 2)}, (128, 64)),
    ({'stem_stride': [2, 1]}, (64, 128)),  # a list, as a config read back from JSON gives it
    ({'stem_stride': 2, 'subpixel': True}, (64, 64)), ({'stem_stride': (1, 2), 'subpixel': True}, (128, 64))])
def test_custom_network_runs_and_is_small(kwargs, first_level):
  model = build_model('custom', 3, **kwargs)
  images = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 3)), jnp.float32)
  variables = jax.jit(model.init)(jax.random.key(0), images)
  logits, updates = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=['batch_stats', 'intermediates'],
                                                     capture_intermediates=lambda m, _: m.name == 'down0'))(
                                                         variables, images)
  assert logits.shape == (2, 128, 128, 3) and logits.dtype == jnp.float32
  assert np.isfinite(np.asarray(logits)).all() and 'batch_stats' in updates
  assert sum(x.size for x in jax.tree.leaves(variables['params'])) < 1_000_000
  assert ('stem' in variables['params']) == (kwargs['stem_stride'] != 1)
  # rows are time, columns frequency: the stem halves only the axes its stride names
  assert updates['intermediates']['down0']['__call__'][0].shape == (2, *first_level, 16)


def test_space_to_depth_places_each_block_in_channels_and_back():
  x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
  blocks = custom.space_to_depth(x, (2, 3))
  assert blocks.shape == (2, 2, 2, 18)
  # block (1, 1) of image 1: rows 2-3, columns 3-5, channels of each pixel row-major
  np.testing.assert_array_equal(blocks[1, 1, 1], np.concatenate([x[1, r, c] for r in (2, 3) for c in (3, 4, 5)]))
  np.testing.assert_array_equal(custom.depth_to_space(blocks, (2, 3)), x)


def test_custom_subpixel_head_labels_single_rows():
  """The subpixel head gives each row of a stride block its own logits (bilinear upsampling of coarse logits
  would spread one coarse row over two)."""
  images = jnp.zeros((1, 128, 128, 3))
  model = build_model('custom', 2, stem_stride=2, subpixel=True)
  variables = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype),
                           jax.eval_shape(model.init, jax.random.key(0), images))
  # the classifier's outputs per coarse pixel, (row, column, class) of its 2x2 block: row 0 class 1, row 1 class 0
  variables['params']['classifier']['bias'] = jnp.asarray([0., 1., 0., 1., 1., 0., 1., 0.])
  mask = np.asarray(model.apply(variables, images).argmax(-1))[0]
  np.testing.assert_array_equal(mask[0::2], 1)
  np.testing.assert_array_equal(mask[1::2], 0)


def test_explicit_model_kwargs_leave_out_the_defaults():
  assert registry.explicit_model_kwargs('custom', {'stem_stride': [1, 2], 'widths': [16, 32, 64, 96],
                                                   'subpixel': False}) == {'stem_stride': (1, 2)}
  assert registry.explicit_model_kwargs('custom', {'stem_stride': 1, 'widths': (8, 16)}) == {'widths': (8, 16)}
  assert registry.explicit_model_kwargs('deeplabv3plus_resnet18', {'output_stride': 16, 'decoder_convs': 1}) == {
      'decoder_convs': 1}


def test_atrous_rates_set_aspp_dilations_without_touching_the_weights():
  # 64x64 at output stride 16: stage5 is 4x4, so every dilation of 4 or more reaches only padding off the centre
  # tap (those branches act as 1x1 convs) and such rates agree; 1/2/3 reach real neighbours and differ.
  images = jnp.asarray(np.random.default_rng(0).normal(size=(1, 64, 64, 3)), jnp.float32)
  default = build_model('deeplabv3plus_resnet18', 3)
  variables = default.init(jax.random.key(0), images)
  logits = {rates: np.asarray(build_model('deeplabv3plus_resnet18', 3, atrous_rates=rates).apply(variables, images))
            for rates in ((4, 5, 6), (7, 9, 11), (1, 2, 3))}
  np.testing.assert_array_equal(np.asarray(default.apply(variables, images)), logits[(4, 5, 6)])
  np.testing.assert_array_equal(logits[(4, 5, 6)], logits[(7, 9, 11)])
  assert np.abs(logits[(1, 2, 3)] - logits[(4, 5, 6)]).max() > 1e-3
  assert {'atrous_rates', 'output_stride', 'aspp_pooling'} <= set(registry.WEIGHT_FREE_KWARGS)
  with pytest.raises(ValueError, match=r'atrous_rates must be None or a non-empty sequence of positive integers'):
    build_model('deeplabv3plus_resnet18', 3, atrous_rates=(0, 2))
  with pytest.raises(ValueError, match=r"aspp_pooling must be one of \['image', 'time'\], got 'frequency'"):
    build_model('deeplabv3plus_resnet18', 3, aspp_pooling='frequency')


def test_custom_network_stem_stride_checks():
  with pytest.raises(ValueError, match='custom needs input height and width divisible by 16; got 72x128'):
    model = build_model('custom', 3, stem_stride=2)
    jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 72, 128, 3)))
  with pytest.raises(ValueError, match=r'custom needs input height divisible by 8 and width by 16; got 128x120'):
    model = build_model('custom', 3, stem_stride=(1, 2))
    jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 128, 120, 3)))
  with pytest.raises(ValueError, match='custom: subpixel needs a stem_stride of 2 on at least one axis'):
    model = build_model('custom', 3, stem_stride=1, subpixel=True)
    jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 128, 128, 3)))
  for stride in (4, (1, 3), (1, 2, 2), 2.0, True):
    with pytest.raises(ValueError, match=r'stem_stride must be 1, 2 or a \(time, frequency\) pair of them, got'):
      model = build_model('custom', 3, stem_stride=stride)
      jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 128, 128, 3)))


def test_bfloat16_compute_returns_float32_logits():
  model = build_model('deeplabv3plus_mobilenetv2', 3, dtype=jnp.bfloat16)
  images = jnp.zeros((1, 64, 64, 3))
  variables = jax.eval_shape(model.init, jax.random.key(0), images)
  out = jax.eval_shape(model.apply, variables, images)
  assert out.dtype == jnp.float32
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(variables['params']))  # params stay float32


def test_indivisible_input_and_unknown_names():
  model = build_model('deeplabv3plus_resnet18', 3)
  with pytest.raises(ValueError, match=r'resnet18 needs input height and width divisible by 32; got 100x128'):
    jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 100, 128, 3)))
  with pytest.raises(ValueError, match='inception_v3 needs inputs of at least 75x75'):
    m = build_model('classifier_inception_v3', 3)
    jax.eval_shape(m.init, jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(ValueError, match=r"Unknown model 'unet'; known: .*custom.*deeplabv3plus_resnet50"):
    build_model('unet', 3)
  with pytest.raises(ValueError, match='output_stride must be one of'):
    build_model('deeplabv3plus_resnet50', 3, output_stride=4)
  with pytest.raises(ValueError, match='num_classes'):
    build_model('custom', 0)
  assert len(MODELS) == 1 + 2 * len(ENCODERS)


@pytest.mark.parametrize('kernel,stride,dilation,padding', [(3, 1, 1, 'SAME'), (3, 2, 1, 'SAME'), (5, 2, 1, 'SAME'),
                                                            (3, 1, 4, 'SAME'), (3, 2, 1, 'VALID'),
                                                            (3, 1, 2, ((2, 2), (2, 2)))])
@pytest.mark.parametrize('kernels', ['cpu', 'native'])
def test_depthwise_conv_equals_grouped_conv(kernel, stride, dilation, padding, kernels, monkeypatch):
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', kernels)
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 17, 20, 6)), jnp.float32)
  ours = layers.DepthwiseConv(kernel, stride, dilation, padding)
  variables = ours.init(jax.random.key(1), x)
  reference = nn.Conv(6, (kernel, kernel), strides=stride, padding=padding, kernel_dilation=dilation,
                      feature_group_count=6, use_bias=False)
  np.testing.assert_allclose(ours.apply(variables, x), reference.apply(variables, x), atol=1e-5)


@pytest.mark.parametrize('stride', [1, 2, 3])
@pytest.mark.parametrize('kernels', ['cpu', 'native'])
def test_pointwise_conv_equals_1x1_conv(stride, kernels, monkeypatch):
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', kernels)
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 7, 6)), jnp.float32)  # odd sizes: the last row kept
  ours = layers.PointwiseConv(4, use_bias=True, stride=stride)
  variables = ours.init(jax.random.key(1), x)
  for padding in ('VALID', 'SAME', ((0, 0), (0, 0))):  # all the same for a 1x1 window
    reference = nn.Conv(4, (1, 1), strides=stride, padding=padding, use_bias=True)
    np.testing.assert_allclose(ours.apply(variables, x), reference.apply(variables, x), atol=1e-5)
  loss = lambda m: lambda v, x: jnp.sum(jnp.sin(m.apply(v, x)))
  for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(variables, x)),
                  jax.tree.leaves(jax.grad(loss(reference), argnums=(0, 1))(variables, x))):
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize('padding,pointwise', [('VALID', True), ('SAME', True), (((0, 0), (0, 0)), True),
                                               (((1, 1), (1, 1)), False)])
def test_conv_bn_takes_the_matrix_product_for_unpadded_1x1(padding, pointwise, monkeypatch):
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', 'cpu')
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  x = jnp.zeros((1, 8, 8, 3), jnp.float32)
  block = layers.ConvBN(4, 1, 2, padding=padding)
  variables = block.init(jax.random.key(0), x)
  assert variables['params']['conv']['kernel'].shape == (1, 1, 3, 4)  # one layout of weights either way
  jaxpr = str(jax.make_jaxpr(block.apply)(variables, x))
  assert ('conv_general_dilated' not in jaxpr) == pointwise and ('dot_general' in jaxpr) == pointwise
  assert block.apply(variables, x).shape == (1, 4 if pointwise else 5, 4 if pointwise else 5, 4)


@pytest.mark.parametrize('window,stride,padding', [(3, 2, ((1, 1), (1, 1))), (3, 2, 'VALID'), (3, 1, 'SAME'),
                                                   (2, 2, 'VALID'), (3, 2, 'SAME')])
@pytest.mark.parametrize('kernels', ['cpu', 'native'])
def test_max_pool_equals_flax(window, stride, padding, kernels, monkeypatch):
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', kernels)
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  ours = lambda x: layers.max_pool(x, window, stride, padding)
  reference = lambda x: nn.max_pool(x, (window, window), strides=(stride, stride), padding=padding)
  # Distinct values, then ties (ReLU's zeros, a constant patch): the first maximum of a window takes the gradient
  tied = np.maximum(rng.normal(size=(2, 15, 16, 3)), 0)
  tied[:, 4:9, 5:11] = 0.5
  for x in (rng.normal(size=(2, 15, 16, 3)), tied):
    x = jnp.asarray(x, jnp.float32)
    np.testing.assert_array_equal(ours(x), reference(x))
    weights = jnp.asarray(rng.normal(size=ours(x).shape), jnp.float32)
    grad = lambda f: jax.grad(lambda x: jnp.sum(f(x) * weights))(x)
    np.testing.assert_allclose(grad(ours), grad(reference), atol=1e-6)


@pytest.mark.parametrize('dilation', [1, 2])
@pytest.mark.parametrize('kernels', ['cpu', 'native'])
def test_depthwise_conv_gradients_equal_grouped_conv(dilation, kernels, monkeypatch):
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', kernels)
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 9, 11, 5)), jnp.float32)
  ours = layers.DepthwiseConv(3, 1, dilation)
  variables = ours.init(jax.random.key(1), x)
  reference = nn.Conv(5, (3, 3), padding='SAME', kernel_dilation=dilation, feature_group_count=5, use_bias=False)
  loss = lambda m: lambda v, x: jnp.sum(jnp.sin(m.apply(v, x)))
  for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(variables, x)),
                  jax.tree.leaves(jax.grad(loss(reference), argnums=(0, 1))(variables, x))):
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_model_info_is_the_registry_s_metadata():
  assert registry.model_info('custom') == registry.ModelInfo('segmentation')
  assert registry.model_info('classifier_mobilenetv2') == registry.ModelInfo(
      'classification', 'mobilenetv2', 'keras', 'symmetric')
  assert registry.model_info('deeplabv3plus_resnet50') == registry.ModelInfo(
      'segmentation', 'resnet50', 'safetensors', 'imagenet')
  assert registry.model_info('deeplabv3plus_efficientnet_b3').weight_format == 'keras'
  assert set(registry.MODEL_INFO) == set(MODELS)
  with pytest.raises(ValueError, match="Unknown model 'resnet'"):
    registry.model_info('resnet')


def test_layer_kernels_follow_the_backend_and_give_one_network(monkeypatch):
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  monkeypatch.delenv('SPECSENSE_LAYER_KERNELS', raising=False)
  assert layers.cpu_kernels() == (jax.default_backend() == 'cpu')
  monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', 'gpu')
  with pytest.raises(ValueError, match='SPECSENSE_LAYER_KERNELS must be "cpu" or "native"'):
    layers.cpu_kernels()
  # The custom network holds max pools and a 1x1 classifier (the depthwise form is checked layer by layer above):
  # the same weights give the same logits with either form, so a network trained on a CPU runs unchanged on an
  # accelerator and back.
  model = build_model('custom', 3, widths=(8, 16))
  x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 32, 32, 3)), jnp.float32)
  outputs = {}
  for kernels in ('cpu', 'native'):
    monkeypatch.setenv('SPECSENSE_LAYER_KERNELS', kernels)
    variables = model.init(jax.random.key(0), x)
    outputs[kernels] = model.apply(variables, x)
  np.testing.assert_allclose(outputs['cpu'], outputs['native'], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('rows,columns', [(8, 8), (2, 5), (1, 6)])
def test_time_context_conv_is_the_convolution_of_the_features_and_their_time_mean(rows, columns):
  # The custom network's second conv per level: the same kernel and results as nn.Conv over [x, mean over rows
  # broadcast], first and last rows included (the zero padding cuts a kernel row off there), gradients too.
  from specsense_jax.models import custom  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(rows).normal(size=(2, rows, columns, 3)), jnp.float32)
  concatenated = lambda x: jnp.concatenate([x, jnp.broadcast_to(x.mean(1, keepdims=True), x.shape)], -1)
  module, reference = custom.TimeContextConv(4), nn.Conv(4, (3, 3), padding='SAME', use_bias=False)
  variables = module.init(jax.random.key(1), x)
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, reference.init(jax.random.key(1),
                                                                                      concatenated(x)))
  np.testing.assert_array_equal(variables['params']['kernel'],  # same initialisation as the nn.Conv it replaces
                                reference.init(jax.random.key(1), concatenated(x))['params']['kernel'])
  np.testing.assert_allclose(module.apply(variables, x), reference.apply(variables, concatenated(x)), atol=2e-6)
  cotangent = jnp.asarray(np.random.default_rng(0).normal(size=(2, rows, columns, 4)), jnp.float32)
  grads = jax.grad(lambda v, x: jnp.sum(module.apply(v, x) * cotangent), argnums=(0, 1))(variables, x)
  expected = jax.grad(lambda v, x: jnp.sum(reference.apply(v, concatenated(x)) * cotangent), argnums=(0, 1))(
      variables, x)
  for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
    np.testing.assert_allclose(got, want, atol=1e-5)
