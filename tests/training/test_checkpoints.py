"""checkpoints.check_trained: which trained weights a run may start from."""

import json
import os

import pytest

from configs import finetune_captures
from configs import realistic
from specsense_jax import constants
from specsense_jax.inference import trained_models
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
