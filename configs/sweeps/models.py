r"""The paper's model comparison: the custom network and DeepLabv3+ over four encoders on synthetic_128.

  python -m launch.sweep --sweep=configs/sweeps/models.py --root=runs/models

Add --config.init_weights per encoder (ImageNet files) by editing the points, as the paper fine-tuned.
"""


def sweep(add):
  add('configs/default.py', name='custom')
  for encoder in ('resnet18', 'resnet50', 'mobilenetv2', 'efficientnet_b0'):
    add(f'configs/deeplabv3plus.py:encoder={encoder},size=128', name=f'deeplabv3plus_{encoder}')
