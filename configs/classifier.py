r"""Frame classifiers: which standards (NR, LTE) a 40 ms frame holds, multi-label, over any encoder.

  python -m launch.train --config=configs/classifier.py:encoder=resnet18,size=128 --workdir=runs/cls_r18
  python -m launch.train --config=configs/classifier.py:encoder=mobilenetv2,runlocal --workdir=/tmp/smoke

The paper's classification experiments; outputs are per-standard probabilities, reported as subset accuracy,
per-standard precision/recall/F1.
"""

import ml_collections

from configs import common
from configs import default
from configs import deeplabv3plus
from specsense_jax.models import registry


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, 'configs/classifier.py', encoder='resnet18', size=128, runlocal=False)
  if args.encoder not in registry.ENCODERS:
    raise ValueError(f'configs/classifier.py: unknown encoder {args.encoder!r}; known: '
                     f'{", ".join(sorted(registry.ENCODERS))}')
  if args.size not in deeplabv3plus.SIZES:
    raise ValueError(f'configs/classifier.py: size must be one of {deeplabv3plus.SIZES}, got {args.size}')
  config = default.base_config()
  config.model = f'classifier_{args.encoder}'
  config.class_weighting = 'none'
  config.selection_metric = 'subset_accuracy'
  config.dataset = f'spectrum_sensing/synthetic_{args.size}'
  config.image_size = args.size
  config.batch_size = 32 if args.size == 128 else 16
  config.learning_rate = 0.02
  if args.runlocal:
    default.runlocal(config)
  config.lock()
  return config
