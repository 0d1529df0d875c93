"""timm/torchvision safetensors import against torchvision's own outputs (a stored fixture)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors.numpy import save_file

from specsense_jax.models import build_model, ENCODERS, torch_weights
from tests.models.fixtures import torchvision_reference as reference

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'torchvision_resnet_reference.npz')


@pytest.mark.parametrize('depth', [18, 50])
def test_safetensors_import_matches_torchvision(tmp_path, depth):
  fixture = np.load(FIXTURE)
  model = build_model(f'classifier_resnet{depth}', 1000)
  size = reference.IMAGE_SIZE
  variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, size, size, 3)))
  shapes = torch_weights.torch_state_shapes(variables)
  expected = {n: tuple(int(v) for v in s.split(',')) for n, s in zip(fixture[f'resnet{depth}_names'],
                                                                     fixture[f'resnet{depth}_shapes'])}
  assert shapes == expected  # our modules cover exactly torchvision's tensors
  path = str(tmp_path / f'resnet{depth}.safetensors')
  save_file(reference.random_state(shapes), path)
  variables = torch_weights.load_torch_weights(path, variables, include_top=True)
  logits = np.asarray(jax.jit(model.apply)(variables, reference.images()))
  want = fixture[f'resnet{depth}_logits']
  assert np.abs(logits - want).max() <= 1e-4 * np.abs(want).max()
  encoder = ENCODERS[f'resnet{depth}'](output_stride=32)
  features = jax.jit(encoder.apply)({k: v['encoder'] for k, v in variables.items()}, reference.images())
  want = fixture[f'resnet{depth}_layer3']
  assert np.abs(np.asarray(features['stage4'])[..., :16] - want).max() <= 1e-4 * np.abs(want).max()


def test_bad_safetensors_files(tmp_path):
  model = build_model('deeplabv3plus_resnet18', 3)
  variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  variables = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), variables)
  with pytest.raises(ValueError, match='not found'):
    torch_weights.load_torch_weights(str(tmp_path / 'x.safetensors'), variables)
  shapes = torch_weights.torch_state_shapes(variables, top_name=None)
  state = reference.random_state(shapes)
  state['layer1.0.conv1.weight'] = state['layer1.0.conv1.weight'][:, :, :1]
  save_file(state, str(tmp_path / 'bad.safetensors'))
  with pytest.raises(ValueError, match=r'bad\.safetensors: layer1\.0\.conv1\.weight: shape'):
    torch_weights.load_torch_weights(str(tmp_path / 'bad.safetensors'), variables)
  (tmp_path / 'junk.safetensors').write_bytes(b'not a file')
  with pytest.raises(ValueError, match='not a readable safetensors'):
    torch_weights.load_torch_weights(str(tmp_path / 'junk.safetensors'), variables)
