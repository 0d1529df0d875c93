"""Every config file and argument builds a locked config whose model, dataset and size agree."""

import ml_collections
import pytest

from configs import classifier
from configs import common
from configs import deeplabv3plus
from configs import default
from configs import realistic
from specsense_jax.models import registry


@pytest.mark.parametrize('module,prefix', [(deeplabv3plus, 'deeplabv3plus_'), (classifier, 'classifier_')])
@pytest.mark.parametrize('size', [128, 256])
def test_every_encoder_at_every_size(module, prefix, size):
  for encoder in registry.ENCODERS:
    config = module.get_config(f'encoder={encoder},size={size}')
    assert config.model == prefix + encoder and config.model in registry.MODELS
    assert config.dataset == f'spectrum_sensing/synthetic_{size}' and config.image_size == size
    with pytest.raises(AttributeError):  # locked: a misspelt key cannot be added
      config.learnig_rate = 0.1  # pylint: disable=attribute-defined-outside-init
    assert config.num_classes is None  # taken from the dataset (segmentation) or the standards at training
  if module is classifier:
    assert config.selection_metric == 'subset_accuracy'


def test_runlocal_shrinks_any_config_and_matlab_recipe():
  for config in (default.get_config('runlocal'), deeplabv3plus.get_config('encoder=mobilenetv2,runlocal'),
                 classifier.get_config('runlocal')):
    assert config.dataset == 'spectrum_sensing/synthetic_tiny' and config.image_size == 64
  matlab = default.get_config('matlab')
  assert (matlab.learning_rate, matlab.schedule, matlab.batch_size, matlab.selection_metric) == (
      0.02, 'piecewise', 40, 'loss')
  assert deeplabv3plus.get_config('output_stride=8').model_kwargs.output_stride == 8


def test_bad_arguments_name_the_file_and_choices():
  with pytest.raises(ValueError, match=r"configs/deeplabv3plus.py: unknown encoder 'resnet19'; known: .*resnet18"):
    deeplabv3plus.get_config('encoder=resnet19')
  with pytest.raises(ValueError, match=r'size must be one of \(128, 256\), got 512'):
    classifier.get_config('size=512')
  with pytest.raises(ValueError, match=r"configs/default.py takes arguments \['matlab', 'runlocal'\]; got 'tiny'"):
    default.get_config('tiny')
  with pytest.raises(ValueError, match="argument 'size' must be int, got 'big'"):
    common.parse_arg('size=big', 'x.py', size=128)
  assert common.parse_arg('a=3,flag', 'x.py', a=1, flag=False, name='n') == ml_collections.ConfigDict(
      {'a': 3, 'flag': True, 'name': 'n'})


def test_realistic_recipe():
  config = realistic.get_config()  # run r5: 40 ms floor-scaled frames, 30 % parity frames, grey levels redrawn
  assert (config.dataset, config.train_mix) == ('spectrum_sensing/realistic_128', 'spectrum_sensing/synthetic_128:0.3')
  assert config.augment == ('grey_rescale',)
  assert config.model == 'custom' and config.model_kwargs.stem_stride == 2
  # the model's own defaults, named so that flags can set them
  assert config.model_kwargs.widths == (16, 32, 64, 96) and config.model_kwargs.subpixel is False
  deeplab = realistic.get_config('encoder=resnet18,parity_share=0,grey_rescale=false')
  assert deeplab.model == 'deeplabv3plus_resnet18' and deeplab.train_mix == '' and deeplab.augment == ()
  assert deeplab.dataset == 'spectrum_sensing/realistic_128'
  assert realistic.get_config('minmax').dataset == 'spectrum_sensing/realistic_128_minmax'
  large = realistic.get_config('large')
  assert (large.dataset, large.num_epochs) == ('spectrum_sensing/realistic_128_large', 8)
  with pytest.raises(ValueError, match='large .* leave short and minmax false'):
    realistic.get_config('large,short')
  paper = realistic.get_config('encoder=resnet50,size=256')  # the paper's model and size, for a GPU
  assert (paper.dataset, paper.train_mix, paper.image_size, paper.model) == (
      'spectrum_sensing/realistic_256', 'spectrum_sensing/synthetic_256:0.3', 256, 'deeplabv3plus_resnet50')
  with pytest.raises(ValueError, match='configs/realistic.py: size must be 128 or 256, got 64'):
    realistic.get_config('size=64')
  with pytest.raises(ValueError, match='at size=256 only 40 ms floor-scaled frames exist'):
    realistic.get_config('size=256,short')
  short = realistic.get_config('short')
  assert (short.dataset, short.train_mix) == ('spectrum_sensing/realistic_128_short',
                                              'spectrum_sensing/synthetic_128_short:0.3')
  with pytest.raises(ValueError, match='minmax images exist for 40 ms frames only'):
    realistic.get_config('minmax,short')
  assert realistic.get_config('stem=1x2').model_kwargs.stem_stride == (1, 2)  # full time resolution
  assert realistic.get_config('stem=1').model_kwargs.stem_stride == 1
  with pytest.raises(ValueError, match="stem must be 1, 2 or TIMExFREQUENCY strides such as 1x2, got '1x4'"):
    realistic.get_config('stem=1x4')
  with pytest.raises(ValueError, match='configs/realistic.py: stem applies to the custom network only'):
    realistic.get_config('encoder=resnet18,stem=1x2')
  assert 'atrous_rates' not in realistic.get_config('encoder=resnet18').model_kwargs  # the model's 6/12/18
  with pytest.raises(ValueError, match="aspp must be positive dilations joined by /, such as 2/4/6, got '2/x'"):
    realistic.get_config('encoder=resnet18,aspp=2/x')
  with pytest.raises(ValueError, match='aspp, aspp_pooling and time_context set DeepLabv3\\+\'s head; give them'):
    realistic.get_config('aspp=2/4/6')
  smoke = realistic.get_config('runlocal')
  assert (smoke.dataset, smoke.train_mix, smoke.image_size) == (
      'spectrum_sensing/realistic_tiny', 'spectrum_sensing/synthetic_tiny:0.3', 64)
  six = realistic.get_config('wlan_radar')
  assert (six.dataset, six.train_mix) == ('spectrum_sensing/realistic_128_wlan_radar',
                                          'spectrum_sensing/synthetic_128:0.3')
  assert realistic.get_config('wlan_radar,runlocal').dataset == 'spectrum_sensing/realistic_tiny_wlan_radar'
  six_short = realistic.get_config('wlan_radar,short')
  assert (six_short.dataset, six_short.train_mix) == ('spectrum_sensing/realistic_128_wlan_radar_short',
                                                      'spectrum_sensing/synthetic_128_short:0.3')
  balanced = realistic.get_config('load_balanced')
  assert (balanced.dataset, balanced.train_mix) == ('spectrum_sensing/realistic_128_load_balanced',
                                                    'spectrum_sensing/synthetic_128:0.3')
  with pytest.raises(ValueError, match=r'load_balanced .* leave short, minmax, large and wlan_radar false'):
    realistic.get_config('load_balanced,short')
  wide = realistic.get_config('wide')
  assert (wide.dataset, wide.train_mix) == ('spectrum_sensing/realistic_128_wide', 'spectrum_sensing/synthetic_128:0.3')
  wide_short = realistic.get_config('wide,short')
  assert (wide_short.dataset, wide_short.train_mix) == ('spectrum_sensing/realistic_128_wide_short',
                                                        'spectrum_sensing/synthetic_128_short:0.3')
  with pytest.raises(ValueError, match=r'wide .* leave minmax, large and load_balanced false'):
    realistic.get_config('wide,load_balanced')
  six_wide = realistic.get_config('wlan_radar,wide,short')
  assert (six_wide.dataset, six_wide.train_mix) == ('spectrum_sensing/realistic_128_wlan_radar_wide_short',
                                                    'spectrum_sensing/synthetic_128_short:0.3')
  rich = realistic.get_config('wlan_radar,wide,short,radar_rich')
  assert (rich.dataset, rich.train_mix) == (six_wide.dataset, 'spectrum_sensing/synthetic_128_short:0.3,'
                                                              'spectrum_sensing/realistic_128_wlan_radar_rich:0.3')
  with pytest.raises(ValueError, match=r'radar_rich adds .* set it with wlan_radar, wide and short'):
    realistic.get_config('wlan_radar,radar_rich')
  with pytest.raises(ValueError, match=r'wide six-class frames exist with short frames only .* set short'):
    realistic.get_config('wlan_radar,wide')
  with pytest.raises(ValueError, match=r'wlan_radar .* leave minmax and large false and size 128'):
    realistic.get_config('wlan_radar,large')
  with pytest.raises(ValueError, match=r"configs/realistic.py: unknown encoder 'resnet19'"):
    realistic.get_config('encoder=resnet19')
  with pytest.raises(ValueError, match=r'parity_share must be in \[0, 1\), got 1.5'):
    realistic.get_config('parity_share=1.5')
