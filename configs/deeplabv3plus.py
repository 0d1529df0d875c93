r"""DeepLabv3+ over any encoder at 128x128 (synthetic_128) or 256x256 (synthetic_256).

  python -m launch.train --config=configs/deeplabv3plus.py:encoder=resnet50,size=256 --workdir=runs/dl_r50_256
  python -m launch.train --config=configs/deeplabv3plus.py:encoder=mobilenetv2,size=128,output_stride=8 \
      --workdir=runs/dl_mnv2 --config.init_weights=/path/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5
  python -m launch.train --config=configs/deeplabv3plus.py:encoder=resnet18,runlocal --workdir=/tmp/smoke

Encoders: the keys of specsense_jax.models.registry.ENCODERS (resnet18, resnet50, resnet50_keras, mobilenetv2,
efficientnet_b0..b7, densenet121, inception_v3). `matlab` gives the MathWorks recipe.
"""

import ml_collections

from configs import common
from configs import default
from specsense_jax.models import registry

SIZES = (128, 256)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, 'configs/deeplabv3plus.py', encoder='resnet18', size=128, output_stride=16,
                          runlocal=False, matlab=False)
  if args.encoder not in registry.ENCODERS:
    raise ValueError(f'configs/deeplabv3plus.py: unknown encoder {args.encoder!r}; known: '
                     f'{", ".join(sorted(registry.ENCODERS))}')
  if args.size not in SIZES:
    raise ValueError(f'configs/deeplabv3plus.py: size must be one of {SIZES}, got {args.size}')
  config = default.base_config()
  config.model = f'deeplabv3plus_{args.encoder}'
  config.model_kwargs = ml_collections.ConfigDict({'output_stride': args.output_stride})
  config.dataset = f'spectrum_sensing/synthetic_{args.size}'
  config.image_size = args.size
  config.batch_size = 16 if args.size == 128 else 8
  config.learning_rate = 0.02 if args.size == 128 else 0.01
  if args.matlab:
    default.matlab_recipe(config)
  if args.runlocal:
    default.runlocal(config)
  config.lock()
  return config
