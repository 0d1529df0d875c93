"""Keras application weights imported into Flax give Keras' logits and feature maps."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax.models import build_model, ENCODERS, keras_weights

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

# encoder, input size, Keras layer giving our stage5 and stage3 features.
CASES = [
    ('resnet50_keras', 64, 'conv5_block3_out', 'conv3_block4_out'),
    ('mobilenetv2', 64, 'out_relu', 'block_5_add'),
    ('efficientnet_b0', 64, 'top_activation', 'block3b_add'),
    ('densenet121', 64, 'relu', 'conv3_block12_concat'),
    ('inception_v3', 96, 'mixed10', 'mixed2'),
]


def _randomize(model, seed=0):
  """Random weights with realistic scales; BN statistics random too, so they are checked as well."""
  rng = np.random.default_rng(seed)
  values = []
  for w in model.weights:
    name, shape = w.path.split('/')[-1], tuple(w.shape)
    if name == 'count':
      values.append(np.array(1.0, np.float32))
    elif name in ('moving_variance', 'variance', 'gamma'):
      values.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
    elif name in ('moving_mean', 'beta', 'bias', 'mean'):
      values.append(rng.normal(0, 0.1, shape).astype(np.float32))
    else:
      fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
      values.append(rng.normal(0, np.sqrt(1.0 / max(fan_in, 1)), shape).astype(np.float32))
  model.set_weights(values)


@pytest.mark.parametrize('encoder,size,stage5,stage3', CASES)
def test_keras_file_round_trip_matches_keras(tmp_path, encoder, size, stage5, stage3):
  import keras  # pylint: disable=g-import-not-at-top
  reference = keras_weights.keras_model(encoder, include_top=True, input_shape=(size, size, 3),
                                        classifier_activation=None)
  _randomize(reference)
  path = str(tmp_path / f'{encoder}.weights.h5')
  reference.save_weights(path)

  model = build_model(f'classifier_{encoder}', 1000)
  variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, size, size, 3)))
  variables = keras_weights.load_keras_weights(path, variables, encoder, include_top=True)
  images = np.random.default_rng(1).uniform(0, 1, (2, size, size, 3)).astype(np.float32)
  if encoder.startswith('efficientnet'):
    images *= 255  # EfficientNet normalizes 0-255 inputs inside the model

  def close(ours, theirs, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max(), what

  close(jax.jit(model.apply)(variables, images), reference(images, training=False), 'logits')
  encoder_variables = {k: v['encoder'] for k, v in variables.items()}
  features = jax.jit(ENCODERS[encoder](output_stride=32).apply)(encoder_variables, images)
  probe = keras.Model(reference.input, [reference.get_layer(stage5).output, reference.get_layer(stage3).output])
  k5, k3 = probe(images, training=False)
  close(features['stage5'], k5, 'stage5')
  close(features['stage3'], k3, 'stage3')


# Keras itself warns once per layer when it loads the deliberately mismatched file below.
@pytest.mark.filterwarnings('ignore::UserWarning:keras')
def test_missing_or_mismatched_file(tmp_path):
  model = build_model('classifier_mobilenetv2', 1000)
  variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(ValueError, match='not found'):
    keras_weights.load_keras_weights(str(tmp_path / 'none.h5'), variables, 'mobilenetv2')
  other = keras_weights.keras_model('densenet121', include_top=False, input_shape=(64, 64, 3))
  other.save_weights(str(tmp_path / 'densenet.weights.h5'))
  with pytest.raises(ValueError, match='cannot be loaded'):
    keras_weights.load_keras_weights(str(tmp_path / 'densenet.weights.h5'), variables, 'mobilenetv2')
  with pytest.raises(ValueError, match='No Keras weights'):
    keras_weights.keras_model('resnet18')
