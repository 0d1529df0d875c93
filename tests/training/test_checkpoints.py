"""checkpoints.check_trained: which trained weights a run may start from."""

import json
import os

import flax
import jax
import numpy as np
import pytest

from configs import finetune_captures
from configs import realistic
from specsense_jax import constants
from specsense_jax.inference import trained_models
from specsense_jax.models import registry
from specsense_jax.training import checkpoints


def test_a_config_naming_the_defaults_starts_from_the_shipped_model():
  # the shipped config.json records {'stem_stride': 2}; the recipe names widths and subpixel at their defaults
  config = finetune_captures.get_config()
  shipped = trained_models.resolve(config.init_from)
  with open(os.path.join(shipped, 'config.json')) as f:
    assert json.load(f)['model_kwargs'] == {'stem_stride': 2} != dict(config.model_kwargs)
  checkpoints.check_trained(shipped, config, constants.FOUR_CLASSES)
  other = realistic.get_config('stem=1x2')  # another layout: refused, naming both
  with pytest.raises(ValueError, match=r"was trained with model_kwargs=\{'stem_stride': 2\}; this run has "
                                       r"\{'stem_stride': \(1, 2\)\}"):
    checkpoints.check_trained(shipped, other, constants.FOUR_CLASSES)


def test_output_stride_and_aspp_settings_may_differ_from_the_trained_network():
  # none changes a weight: DeepLabv3+ trained at stride 16 with rates 6/12/18 and image pooling fine-tunes at 8,
  # with 2/4/6 or with time pooling
  shipped = trained_models.resolve('deeplabv3plus_resnet18_realistic_128')
  config = realistic.get_config('encoder=resnet18,aspp=2/4/6,aspp_pooling=time')
  assert (tuple(config.model_kwargs.atrous_rates), config.model_kwargs.aspp_pooling) == ((2, 4, 6), 'time')
  with config.unlocked():
    config.model_kwargs.output_stride = 8
  checkpoints.check_trained(shipped, config, constants.FOUR_CLASSES)
  with config.unlocked():
    config.model_kwargs.decoder_convs = 1  # a layer fewer: refused
  with pytest.raises(ValueError, match=r"was trained with model_kwargs=\{\}; this run has \{'decoder_convs': 1\}"):
    checkpoints.check_trained(shipped, config, constants.FOUR_CLASSES)


def test_a_module_the_run_adds_starts_as_the_identity(tmp_path):
  # A DeepLabv3+ trained without the decoder's time context, grown by it: every trained weight loads, the new
  # module keeps its zero initialization, so the grown network gives the trained network's logits.
  images = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype(np.float32)
  plain = registry.build_model('deeplabv3plus_resnet18', 4)
  trained = plain.init(jax.random.key(0), images)
  config = realistic.get_config('encoder=resnet18,time_context')
  with config.unlocked():
    config.image_size = 64
  (tmp_path / checkpoints.CONFIG).write_text(json.dumps(
      {'model': config.model, 'image_size': 64, 'model_kwargs': {'output_stride': 16},
       'class_names': list(constants.FOUR_CLASSES)}))
  (tmp_path / checkpoints.PACKAGED_VARIABLES).write_bytes(flax.serialization.to_bytes(trained))
  path = str(tmp_path)
  checkpoints.check_trained(path, config, constants.FOUR_CLASSES)
  assert checkpoints.added_modules(path, config) == [('decoder_time_context', 'time_context')]
  grown_model = registry.build_model('deeplabv3plus_resnet18', 4, decoder_time_context=True)
  template = grown_model.init(jax.random.key(1), images)
  with pytest.raises(ValueError, match='do not fit this run\'s network'):
    checkpoints.load_trained_variables(path, template)  # without naming the module it adds
  grown = checkpoints.load_trained_variables(path, template, fresh_modules=['time_context'])
  assert grown['params']['time_context']['kernel'].shape == (304, 304)
  np.testing.assert_array_equal(grown['params']['time_context']['kernel'], 0)
  np.testing.assert_allclose(grown_model.apply(grown, images), plain.apply(trained, images), rtol=1e-5, atol=1e-5)
  # the other way (a network with the module to one without) is another network: refused
  (tmp_path / checkpoints.CONFIG).write_text(json.dumps(
      {'model': config.model, 'image_size': 64, 'model_kwargs': {'output_stride': 16, 'decoder_time_context': True},
       'class_names': list(constants.FOUR_CLASSES)}))
  with config.unlocked():
    config.model_kwargs.decoder_time_context = False
  with pytest.raises(ValueError, match=r"was trained with model_kwargs=\{'decoder_time_context': True\}"):
    checkpoints.check_trained(path, config, constants.FOUR_CLASSES)
