"""ImageNet initialization of the `torch`-flavour ResNets from timm / torchvision safetensors files.

Both libraries name ResNet-18/50 weights the same way (conv1, bn1, layer1.0.conv1, ..., fc). Convolution
kernels are (out, in, kh, kw) there and (kh, kw, in, out) here; the classifier is (out, in) there.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from specsense_jax.models import keras_weights

TORCH_RESNETS = ('resnet18', 'resnet50')


def torch_name(path: tuple[str, ...]) -> str:
  """torchvision/timm module name of our ResNet module at `path` (relative to the encoder)."""
  if path[0] == 'stem':
    return {'conv': 'conv1', 'bn': 'bn1'}[path[1]]
  stage, block = (int(v) for v in re.match(r'layer(\d)_(\d+)', path[0]).groups())
  prefix = f'layer{stage}.{block}'
  if path[1] == 'downsample':
    return f'{prefix}.downsample.{0 if path[2] == "conv" else 1}'
  number = path[1][-1]  # conv_bn1 -> 1
  return f'{prefix}.{path[2]}{number}'


def torch_state_shapes(variables: dict[str, Any], encoder_path=('encoder',), top_name: str | None = 'predictions'
                       ) -> dict[str, tuple[int, ...]]:
  """The torchvision state-dict names and shapes our variables correspond to (without the BN counters)."""
  params = variables['params']
  for p in encoder_path:
    params = params[p]
  shapes = {}
  for path, arrays in keras_weights.walk_modules(params):
    name = torch_name(path)
    if 'kernel' in arrays:
      kh, kw, cin, cout = arrays['kernel'].shape
      shapes[f'{name}.weight'] = (cout, cin, kh, kw)
    else:
      for suffix in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{name}.{suffix}'] = tuple(arrays['bias'].shape)
  if top_name is not None and top_name in variables['params']:
    cin, cout = variables['params'][top_name]['kernel'].shape
    shapes['fc.weight'], shapes['fc.bias'] = (cout, cin), (cout,)
  return shapes


def torch_to_flax(state: dict[str, np.ndarray], variables: dict[str, Any], encoder_path=('encoder',),
                  top_name: str | None = 'predictions') -> dict[str, Any]:
  """Copies a torchvision/timm ResNet state dict (numpy arrays) into Flax variables; returns a new tree."""
  import jax  # pylint: disable=g-import-not-at-top
  new = jax.tree.map(np.asarray, variables)
  params, stats = new['params'], new['batch_stats']
  for p in encoder_path:
    params, stats = params[p], stats[p]
  used = set()

  def get(key, shape):
    if key not in state:
      raise ValueError(f'weights file lacks {key!r}')
    value = np.asarray(state[key], np.float32)
    if tuple(value.shape) != tuple(shape):
      raise ValueError(f'{key}: shape {tuple(value.shape)} in the file, expected {tuple(shape)}')
    used.add(key)
    return value

  for path, arrays in keras_weights.walk_modules(params):
    name = torch_name(path)
    node = params
    for p in path:
      node = node[p]
    if 'kernel' in arrays:
      kh, kw, cin, cout = arrays['kernel'].shape
      node['kernel'] = np.transpose(get(f'{name}.weight', (cout, cin, kh, kw)), (2, 3, 1, 0))
    else:
      shape = arrays['bias'].shape
      node_stats = stats
      for p in path:
        node_stats = node_stats[p]
      node['scale'], node['bias'] = get(f'{name}.weight', shape), get(f'{name}.bias', shape)
      node_stats['mean'], node_stats['var'] = get(f'{name}.running_mean', shape), get(f'{name}.running_var', shape)
  if top_name is not None and top_name in new['params']:
    cin, cout = new['params'][top_name]['kernel'].shape
    new['params'][top_name]['kernel'] = get('fc.weight', (cout, cin)).T
    new['params'][top_name]['bias'] = get('fc.bias', (cout,))
  unused = sorted(k for k in state if k not in used and not k.endswith('num_batches_tracked')
                  and not (top_name is None and k.startswith('fc.')))
  if unused:
    raise ValueError(f'weights file has tensors no module takes: {unused[:5]}')
  return new


def load_torch_weights(path: str, variables: dict[str, Any], include_top: bool = False,
                       encoder_path=('encoder',)) -> dict[str, Any]:
  """Loads a timm/torchvision ResNet-18/50 `.safetensors` file into a `resnet18`/`resnet50` encoder."""
  if not os.path.isfile(path):
    raise ValueError(f'{path}: safetensors file not found')
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  try:
    state = load_file(path)
  except Exception as e:  # safetensors raises its own error types
    raise ValueError(f'{path}: not a readable safetensors file ({e})') from None
  try:
    return torch_to_flax(state, variables, encoder_path, 'predictions' if include_top else None)
  except ValueError as e:
    raise ValueError(f'{path}: {e}') from None
