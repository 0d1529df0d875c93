r"""The default experiment: the custom network on spectrum_sensing/synthetic_128, the MathWorks recipe.

  python -m launch.train --config=configs/default.py --workdir=runs/default
  python -m launch.train --config=configs/default.py:runlocal --workdir=/tmp/smoke   # tiny, CPU, minutes
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.dataset = 'spectrum_sensing/synthetic_128'
  config.data_dir = ml_collections.FieldReference(None, field_type=str)
  config.train_split = 'train'
  config.eval_split = 'validation'
  config.test_split = 'test'
  config.model = 'custom'
  config.model_kwargs = ml_collections.ConfigDict()
  config.num_classes = 3
  config.image_size = 128
  config.batch_size = 40               # global, over all devices and hosts (MATLAB: 40)
  config.num_epochs = 20
  config.learning_rate = 0.02
  config.schedule = 'piecewise'        # x0.1 every 10 epochs (MATLAB), or 'cosine'
  config.warmup_epochs = 0.0
  config.momentum = 0.9
  config.l2 = 1e-4
  config.class_weighting = 'median_frequency'   # or 'none'
  config.early_stopping_patience = 5   # evaluations without a better validation loss
  config.half_precision = False        # bfloat16 compute
  config.seed = 0
  config.log_every_steps = 20
  config.shuffle_buffer = 2048
  config.max_steps = ml_collections.FieldReference(None, field_type=int)  # overrides num_epochs when set
  if arg == 'runlocal':
    config.dataset = 'spectrum_sensing/synthetic_tiny'
    config.image_size = 64
    config.batch_size = 8
    config.num_epochs = 2
    config.log_every_steps = 1
  elif arg:
    raise ValueError(f"configs/default.py takes no argument or 'runlocal', got {arg!r}")
  config.lock()
  return config
