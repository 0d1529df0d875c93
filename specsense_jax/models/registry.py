"""Models by name: `build_model('deeplabv3plus_resnet50', num_classes=3, output_stride=16)`, and what the rest
of the framework needs to know about each (`model_info`: task, encoder, ImageNet weight layout)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any, Callable

import flax.linen as nn
import jax.numpy as jnp

from specsense_jax.models import custom
from specsense_jax.models import densenet
from specsense_jax.models import efficientnet
from specsense_jax.models import heads
from specsense_jax.models import inception_v3
from specsense_jax.models import mobilenet_v2
from specsense_jax.models import pretrained
from specsense_jax.models import resnet

# encoder name -> module constructor taking output_stride, dtype (and name); the module returns
# {'stage1': ..., 'stage5': ...} at strides 2, 4, 8, 16, 32 (the last ones capped at output_stride).
ENCODERS: dict[str, Callable[..., nn.Module]] = {
    'resnet18': functools.partial(resnet.ResNet, depth=18, flavour='torch'),
    'resnet50': functools.partial(resnet.ResNet, depth=50, flavour='torch'),
    'resnet50_keras': functools.partial(resnet.ResNet, depth=50, flavour='keras'),
    'mobilenetv2': mobilenet_v2.MobileNetV2,
    **{f'efficientnet_{v}': functools.partial(efficientnet.EfficientNet, variant=v) for v in efficientnet.SCALING},
    'densenet121': functools.partial(densenet.DenseNet, depth=121),
    'inception_v3': inception_v3.InceptionV3,
}
OUTPUT_STRIDES = (8, 16, 32)
# model_kwargs that change what a network computes but none of its weights' names or shapes: a run may start from
# weights trained with other values (`config.init_from`), e.g. DeepLab's output stride 16 fine-tuned at 8, or its
# image pooling fine-tuned as time pooling.
WEIGHT_FREE_KWARGS = ('output_stride', 'atrous_rates', 'aspp_pooling')
# model_kwargs that add a module starting as the identity (zero weights): a run setting one may start from weights
# trained without it (`config.init_from`); the module's own weights start fresh.
ADDED_MODULES = {'decoder_time_context': 'time_context'}


def _check_transform(input_transform):
  if input_transform is not None and input_transform not in pretrained.INPUT_TRANSFORMS:
    raise ValueError(f'input_transform must be None or one of {sorted(pretrained.INPUT_TRANSFORMS)}, '
                     f'got {input_transform!r}')
  return input_transform


def _check_rates(atrous_rates):
  if atrous_rates is None:
    return None
  rates = tuple(atrous_rates)
  if not rates or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in rates):
    raise ValueError(f'atrous_rates must be None or a non-empty sequence of positive integers, got {atrous_rates!r}')
  return rates


def _deeplab(encoder: str, num_classes: int, output_stride: int = 16, separable: bool = True,
             decoder_convs: int = 2, dtype: Any = jnp.float32, input_transform: str | None = None,
             atrous_rates: tuple[int, ...] | None = None, aspp_pooling: str = 'image',
             decoder_time_context: bool = False):
  if aspp_pooling not in heads.POOLING_AXES:
    raise ValueError(f'aspp_pooling must be one of {sorted(heads.POOLING_AXES)}, got {aspp_pooling!r}')
  return heads.DeepLabV3Plus(functools.partial(ENCODERS[encoder], output_stride=output_stride, dtype=dtype),
                             num_classes, output_stride, separable, decoder_convs, dtype,
                             _check_transform(input_transform), _check_rates(atrous_rates), aspp_pooling,
                             bool(decoder_time_context))


def _classifier(encoder: str, num_classes: int, output_stride: int = 32, dtype: Any = jnp.float32,
                input_transform: str | None = None):
  return heads.Classifier(functools.partial(ENCODERS[encoder], output_stride=output_stride, dtype=dtype),
                          num_classes, dtype, _check_transform(input_transform))


MODELS: dict[str, Callable[..., nn.Module]] = {
    'custom': custom.SpectrumUNet,
    **{f'deeplabv3plus_{e}': functools.partial(_deeplab, e) for e in ENCODERS},
    **{f'classifier_{e}': functools.partial(_classifier, e) for e in ENCODERS},
}


@dataclasses.dataclass(frozen=True)
class ModelInfo:
  """A registered model's metadata.

  Attributes:
    task: 'segmentation' (class per pixel) or 'classification' (which standards a frame holds).
    encoder: its key in `ENCODERS`; None for networks without an ImageNet encoder ('custom').
    weight_format: 'keras' (.h5) or 'safetensors': the ImageNet weight files its encoder loads; None: none.
    input_transform: the `pretrained.INPUT_TRANSFORMS` key those weights expect.
  """
  task: str
  encoder: str | None = None
  weight_format: str | None = None
  input_transform: str | None = None


def _encoder_info(task: str, encoder: str) -> ModelInfo:
  fmt, transform = (pretrained.EFFICIENTNET_WEIGHTS if encoder.startswith('efficientnet_')
                    else pretrained.ENCODER_WEIGHTS[encoder])
  return ModelInfo(task, encoder, fmt, transform)


MODEL_INFO: dict[str, ModelInfo] = {
    'custom': ModelInfo('segmentation'),
    **{f'deeplabv3plus_{e}': _encoder_info('segmentation', e) for e in ENCODERS},
    **{f'classifier_{e}': _encoder_info('classification', e) for e in ENCODERS},
}


def model_info(name: str) -> ModelInfo:
  """The metadata of a registered model, or a ValueError listing the known names."""
  if name not in MODEL_INFO:
    raise ValueError(f'Unknown model {name!r}; known: {", ".join(sorted(MODELS))}')
  return MODEL_INFO[name]


def build_model(name: str, num_classes: int, **kwargs) -> nn.Module:
  """Builds a registered model.

  Args:
    name: 'custom', 'deeplabv3plus_<encoder>' or 'classifier_<encoder>' with an encoder of `ENCODERS`.
    num_classes: output classes (segmentation: per pixel; classifier: multi-label logits).
    **kwargs: output_stride (8, 16, 32; not for 'custom'), separable (DeepLabv3+: atrous separable 3x3
      convs, default True), decoder_convs (DeepLabv3+: 3x3 convs after the skip concat, default 2),
      atrous_rates (DeepLabv3+: ASPP's dilations, default 6/12/18 at output stride 16, doubled at 8),
      aspp_pooling (DeepLabv3+: 'image', the paper's, or 'time': per frequency column, `heads.POOLING_AXES`),
      decoder_time_context (DeepLabv3+: `heads.TimeContext` on the decoder's input, default False), dtype
      (e.g. jnp.bfloat16 compute; parameters stay float32), input_transform (heads: a key of
      pretrained.INPUT_TRANSFORMS).

  Returns:
    A Flax Linen module called as `model.apply(variables, images, train=...)` on NHWC float images.
  """
  model_info(name)  # an unknown name lists the known ones
  if not isinstance(num_classes, int) or num_classes < 1:
    raise ValueError(f'num_classes must be a positive integer, got {num_classes!r}')
  if 'output_stride' in kwargs and kwargs['output_stride'] not in OUTPUT_STRIDES:
    raise ValueError(f'output_stride must be one of {OUTPUT_STRIDES}, got {kwargs["output_stride"]!r}')
  return MODELS[name](num_classes=num_classes, **kwargs)


def explicit_model_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
  """`kwargs` of model `name` without the entries that equal the model's defaults, lists as tuples: two
  configs build the same network exactly when these agree (one may name a default that the other leaves out)."""
  defaults = {p.name: p.default for p in inspect.signature(MODELS[name]).parameters.values()
              if p.default is not inspect.Parameter.empty}
  as_tuples = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
  return {k: v for k, v in as_tuples.items() if k not in defaults or v != defaults[k]}


def build_from_config(config, dtype: Any = jnp.float32) -> nn.Module:
  """The model of a training config (`model`, `num_classes`, `model_kwargs`, `init_weights`).

  A model initialized from ImageNet weights gets the input transform those weights expect unless
  `model_kwargs.input_transform` says otherwise.
  """
  # lists (a config read back from JSON) as tuples: Flax modules hash their attributes
  kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(config.model_kwargs).items()}
  if config.get('init_weights') and 'input_transform' not in kwargs:
    kwargs['input_transform'] = model_info(config.model).input_transform
  return build_model(config.model, config.num_classes, dtype=dtype, **kwargs)
