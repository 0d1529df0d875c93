"""ImageNet initialization for training: which weight file fits which model, and the input each expects.

The datasets give images in [0, 1]. ImageNet weights were trained on differently scaled inputs, so a model
initialized from them first maps [0, 1] to what its encoder saw (`input_transform`); without it fine-tuning
starts from badly scaled activations. From-scratch models take [0, 1] unchanged.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
_CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)  # keras.applications.imagenet_utils

# name -> map from [0, 1] RGB images to an ImageNet model's input convention.
INPUT_TRANSFORMS: dict[str, Callable[[jnp.ndarray], jnp.ndarray]] = {
    'imagenet': lambda x: (x - _MEAN) / _STD,                      # torchvision, Keras DenseNet ('torch' mode)
    'caffe': lambda x: x[..., ::-1] * 255.0 - _CAFFE_BGR_MEAN,     # Keras ResNet50: BGR, mean-subtracted
    'symmetric': lambda x: x * 2.0 - 1.0,                          # Keras MobileNetV2, InceptionV3 ('tf' mode)
    'uint8': lambda x: x * 255.0,                                  # Keras EfficientNet (normalizes inside)
}

# encoder -> (weight format, input transform) of its ImageNet weights; EfficientNets are added by the registry.
ENCODER_WEIGHTS = {
    'resnet18': ('safetensors', 'imagenet'), 'resnet50': ('safetensors', 'imagenet'),
    'resnet50_keras': ('keras', 'caffe'), 'mobilenetv2': ('keras', 'symmetric'),
    'densenet121': ('keras', 'imagenet'), 'inception_v3': ('keras', 'symmetric'),
}
EFFICIENTNET_WEIGHTS = ('keras', 'uint8')


def check_weights_file(model: str, weight_format: str | None, path: str) -> None:
  """Raises a ValueError naming the file when it is missing or not in `weight_format` ('keras' or
  'safetensors'; None: `model` has no ImageNet encoder)."""
  if weight_format is None:
    raise ValueError(f'config.init_weights: model {model!r} has no ImageNet weights to load; models with an '
                     'ImageNet encoder do (every deeplabv3plus_* and classifier_* model)')
  fmt = weight_format
  suffixes = {'keras': ('.h5',), 'safetensors': ('.safetensors',)}[fmt]
  if not os.path.isfile(path):
    raise ValueError(f'config.init_weights: {path} not found (download the ImageNet weights once; nothing is '
                     'fetched at run time)')
  if not path.endswith(suffixes):
    raise ValueError(f'config.init_weights: {model} takes {fmt} weights ({" or ".join(suffixes)} files), got {path}')


def load_pretrained(model: str, encoder: str, weight_format: str, path: str,
                    variables: dict[str, Any]) -> dict[str, Any]:
  """`variables` of `model` (whose encoder is `encoder`) with the encoder replaced by the `weight_format`
  weights in `path` (the head stays random)."""
  from specsense_jax.models import keras_weights  # pylint: disable=g-import-not-at-top
  from specsense_jax.models import torch_weights  # pylint: disable=g-import-not-at-top
  check_weights_file(model, weight_format, path)
  if weight_format == 'safetensors':
    return torch_weights.load_torch_weights(path, variables)
  return keras_weights.load_keras_weights(path, variables, encoder)
