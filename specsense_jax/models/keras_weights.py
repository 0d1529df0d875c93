"""ImageNet initialization from Keras application weight files (`.weights.h5` or legacy `.h5`).

The file is loaded into the matching `keras.applications` model (Keras reads both formats), and every layer's
arrays are copied into the Flax variables by name: each encoder has a rule that names, for each of our
modules, the Keras layer it corresponds to. Shapes are checked on every copy. Nothing is downloaded.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from specsense_jax.models import efficientnet

KERAS_APPLICATIONS = {
    'resnet50_keras': 'ResNet50', 'mobilenetv2': 'MobileNetV2', 'densenet121': 'DenseNet121',
    'inception_v3': 'InceptionV3', **{f'efficientnet_{v}': f'EfficientNet{v.upper()}' for v in efficientnet.SCALING},
}


def keras_model(encoder: str, include_top: bool = True, input_shape=None, **kwargs):
  """The keras.applications model whose weights `encoder` takes (random init; nothing is downloaded)."""
  if encoder not in KERAS_APPLICATIONS:
    raise ValueError(f'No Keras weights for encoder {encoder!r}; encoders with Keras layouts: '
                     f'{sorted(KERAS_APPLICATIONS)}')
  os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
  import keras  # pylint: disable=g-import-not-at-top
  return getattr(keras.applications, KERAS_APPLICATIONS[encoder])(
      weights=None, include_top=include_top, input_shape=input_shape, **kwargs)


def _efficientnet_block_names(variant: str) -> list[str]:
  width, depth = efficientnet.SCALING[variant]
  names = []
  for stage, block in enumerate(efficientnet.BLOCKS):
    for j in range(efficientnet.round_repeats(block[1], depth)):
      names.append(f'block{stage + 1}{chr(ord("a") + j)}')
  return names


def keras_layer_name(encoder: str, path: tuple[str, ...], inception_order: dict[str, str]) -> str:
  """Keras layer name of our module at `path` (relative to the encoder, ending in conv/bn or a leaf)."""
  joined = '/'.join(path)
  if encoder == 'resnet50_keras':
    if path[0] == 'stem':
      return f'conv1_{path[1]}'
    stage, block = (int(v) for v in re.match(r'layer(\d)_(\d+)', path[0]).groups())
    part = {'conv_bn1': '1', 'conv_bn2': '2', 'conv_bn3': '3', 'downsample': '0'}[path[1]]
    return f'conv{stage + 1}_block{block + 1}_{part}_{path[2]}'
  if encoder == 'mobilenetv2':
    if path[0] in ('stem', 'head'):
      return {('stem', 'conv'): 'Conv1', ('stem', 'bn'): 'bn_Conv1', ('head', 'conv'): 'Conv_1',
              ('head', 'bn'): 'Conv_1_bn'}[path[:2]]
    k = int(path[0].split('_')[1])
    prefix = 'expanded_conv' if k == 0 else f'block_{k}'
    return f'{prefix}_{path[1]}' + ('_BN' if path[2] == 'bn' else '')
  if encoder.startswith('efficientnet_'):
    if path[0] in ('stem', 'head'):
      return f'{"stem" if path[0] == "stem" else "top"}_{path[1]}'
    block = _efficientnet_block_names(encoder.split('_')[1])[int(path[0].split('_')[1])]
    part = {('expand', 'conv'): 'expand_conv', ('expand', 'bn'): 'expand_bn', ('depthwise', 'conv'): 'dwconv',
            ('depthwise', 'bn'): 'bn', ('project', 'conv'): 'project_conv', ('project', 'bn'): 'project_bn'}
    return f'{block}_{part.get(path[1:3], path[1])}'
  if encoder == 'densenet121':
    if path[0] == 'stem':
      return f'conv1_{path[1]}'
    if path[0] == 'final_bn':
      return 'bn'
    m = re.match(r'transition(\d)_(bn|conv)', path[0])
    if m:
      return f'pool{int(m.group(1)) + 1}_{m.group(2)}'
    b, i = (int(v) for v in re.match(r'block(\d)_(\d+)', path[0]).groups())
    part = {'bn0': '0_bn', 'conv1': '1_conv', 'bn1': '1_bn', 'conv2': '2_conv'}[path[1]]
    return f'conv{b + 1}_block{i + 1}_{part}'
  if encoder == 'inception_v3':
    return inception_order[joined]
  raise ValueError(f'No Keras layout for encoder {encoder!r}')


def _inception_order(model) -> dict[str, str]:
  """Our conv{k}/bn{k} -> Keras' auto-named layers, both in creation order (Keras numbers them)."""
  def index(name):
    m = re.search(r'_(\d+)$', name)
    return int(m.group(1)) if m else 0
  convs = sorted((l.name for l in model.layers if type(l).__name__ == 'Conv2D'), key=index)
  bns = sorted((l.name for l in model.layers if type(l).__name__ == 'BatchNormalization'), key=index)
  return {**{f'conv{k}': n for k, n in enumerate(convs)}, **{f'bn{k}': n for k, n in enumerate(bns)}}


def walk_modules(tree: dict, prefix=()):
  """Yields (path, {name: array}) for every module of a variable tree that holds arrays directly."""
  arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
  if arrays:
    yield prefix, arrays
  for k, v in tree.items():
    if isinstance(v, dict):
      yield from walk_modules(v, prefix + (k,))


def _set(tree: dict, path: tuple[str, ...], name: str, value) -> None:
  for p in path:
    tree = tree[p]
  if tuple(tree[name].shape) != tuple(value.shape):
    raise ValueError(f'{"/".join(path)}/{name}: Keras array has shape {tuple(value.shape)}, ours '
                     f'{tuple(tree[name].shape)}')
  tree[name] = np.asarray(value, np.asarray(tree[name]).dtype)


def keras_to_flax(model, variables: dict[str, Any], encoder: str, encoder_path=('encoder',),
                  top_name: str | None = 'predictions') -> dict[str, Any]:
  """Copies a Keras application model's weights into Flax `variables` (returns a new tree of numpy arrays).

  Args:
    model: the keras.applications model holding the weights.
    variables: {'params': ..., 'batch_stats': ...} of a model built with `encoder`.
    encoder: our encoder name (a key of KERAS_APPLICATIONS).
    encoder_path: where the encoder sits in the variable tree.
    top_name: our module taking Keras' 'predictions' layer, or None to skip the classifier.
  """
  import jax  # pylint: disable=g-import-not-at-top
  new = jax.tree.map(np.asarray, dict(variables))  # a fresh tree of host arrays
  params = new['params']
  stats = new.get('batch_stats', {})
  keras_layers = {l.name: l for l in model.layers}
  inception = _inception_order(model) if encoder == 'inception_v3' else {}
  encoder_params = params
  for p in encoder_path:
    encoder_params = encoder_params[p]
  encoder_stats = stats
  for p in encoder_path:
    encoder_stats = encoder_stats.get(p, {})
  copied = set()

  def layer(name):
    if name not in keras_layers:
      raise ValueError(f'Keras model {model.name} has no layer {name!r}')
    copied.add(name)
    weights = {w.path.split('/')[-1]: w.numpy() for w in keras_layers[name].weights}
    if type(keras_layers[name]).__name__ == 'DepthwiseConv2D':  # (kh, kw, cin, 1) -> ours (kh, kw, 1, cin)
      weights = {'depthwise_kernel': weights.get('depthwise_kernel', weights.get('kernel'))}
    return weights

  for path, arrays in walk_modules(encoder_params):
    weights = layer(keras_layer_name(encoder, path, inception))
    if 'kernel' in arrays and 'depthwise_kernel' in weights:  # (kh, kw, cin, 1) -> (kh, kw, 1, cin)
      _set(encoder_params, path, 'kernel', np.transpose(weights['depthwise_kernel'], (0, 1, 3, 2)))
    elif 'kernel' in arrays:
      _set(encoder_params, path, 'kernel', weights['kernel'])
      if 'bias' in arrays:
        _set(encoder_params, path, 'bias', weights['bias'])
    else:  # BatchNorm
      if 'scale' in arrays:
        _set(encoder_params, path, 'scale', weights['gamma'])
      _set(encoder_params, path, 'bias', weights['beta'])
      _set(encoder_stats, path, 'mean', weights['moving_mean'])
      _set(encoder_stats, path, 'var', weights['moving_variance'])
  if 'normalization' in encoder_stats:
    weights = layer(next(l.name for l in model.layers if type(l).__name__ == 'Normalization'))
    for name in ('mean', 'variance', 'count'):
      _set(encoder_stats, ('normalization',), name, np.reshape(weights[name], encoder_stats['normalization'][name].shape))
  if top_name is not None and top_name in params and 'predictions' in keras_layers:
    weights = layer('predictions')
    _set(params, (top_name,), 'kernel', weights['kernel'])
    _set(params, (top_name,), 'bias', weights['bias'])
  missing = [l.name for l in model.layers if l.weights and l.name not in copied
             and not (l.name == 'predictions' and top_name is None)]
  if missing:
    raise ValueError(f'Keras layers left unmapped: {missing[:5]}{"..." if len(missing) > 5 else ""}')
  return new


def load_keras_weights(path: str, variables: dict[str, Any], encoder: str, include_top: bool = False,
                       encoder_path=('encoder',)) -> dict[str, Any]:
  """Loads a Keras application weight file into the encoder (and, with include_top, the classifier).

  Args:
    path: `.weights.h5` / `.h5` file of the keras.applications model (e.g. the ImageNet weights a user
      downloaded once).
    variables: Flax variables of a model built with `encoder`.
    encoder: a key of KERAS_APPLICATIONS.
    include_top: also copy the 1,000-class classifier (only for `classifier_*` models with 1,000 classes).
    encoder_path: where the encoder sits in the variable tree.
  """
  if not os.path.isfile(path):
    raise ValueError(f'{path}: Keras weight file not found')
  model = keras_model(encoder, include_top=include_top)
  try:
    model.load_weights(path)
  except Exception as e:  # Keras raises several types for mismatching files
    raise ValueError(f'{path}: cannot be loaded into keras.applications.{KERAS_APPLICATIONS[encoder]} '
                     f'(include_top={include_top}): {e}') from None
  return keras_to_flax(model, variables, encoder, encoder_path, 'predictions' if include_top else None)
