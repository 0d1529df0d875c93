r"""The default experiment: the custom network on spectrum_sensing/synthetic_128.

  python -m launch.train --config=configs/default.py --workdir=runs/default
  python -m launch.train --config=configs/default.py:runlocal --workdir=/tmp/smoke   # tiny, CPU, minutes

The training recipe (0.1, cosine, batch 16, 30 epochs) reaches the quality bar of the shipped model;
`configs/default.py:matlab` gives the MathWorks example's recipe (SGDM 0.02, x0.1 every 10 epochs, batch 40,
best checkpoint on validation loss).
"""

import ml_collections

from configs import common


def base_config() -> ml_collections.ConfigDict:
  """Every key a training config has (the other config files start from this)."""
  config = ml_collections.ConfigDict()
  config.dataset = 'spectrum_sensing/synthetic_128'
  config.data_dir = ml_collections.FieldReference(None, field_type=str)
  config.train_split = 'train'
  config.eval_split = 'validation'
  config.test_split = 'test'
  config.num_folds = 3                 # k-fold cross-validation over train_split (launch.crossval)
  config.fold = ml_collections.FieldReference(None, field_type=int)  # train on the other folds, test on this one
  config.model = 'custom'
  config.model_kwargs = ml_collections.ConfigDict()
  config.init_weights = ml_collections.FieldReference(None, field_type=str)  # ImageNet .h5 / .safetensors file
  # Fine-tuning: a packaged model folder or a training workdir (its best checkpoint) of the same model and
  # classes, whose weights start the run.
  config.init_from = ml_collections.FieldReference(None, field_type=str)
  # Output classes; None: the dataset's class set (its TFDS metadata) for segmentation, the standards (NR, LTE)
  # for frame classifiers. An explicit value must agree with the dataset (train.check_config).
  config.num_classes = ml_collections.FieldReference(None, field_type=int)
  config.image_size = 128
  config.batch_size = 16               # global, over all devices and hosts
  config.num_epochs = 30
  config.learning_rate = 0.1
  config.schedule = 'cosine'           # or 'piecewise': x0.1 every 10 epochs (MATLAB)
  config.warmup_epochs = 0.5
  config.momentum = 0.9
  config.l2 = 1e-4
  # Decay of an exponential moving average of the weights, evaluated, checkpointed and packaged in place of the
  # trained ones; 0 keeps none (e.g. 0.999: about the last 1,000 steps).
  config.ema_decay = 0.0
  config.class_weighting = 'median_frequency'   # over `dataset`; 'median_frequency_mix': over the train_mix; 'none'
  config.selection_metric = 'mean_iou'  # best checkpoint and early stopping; 'loss' is MATLAB's rule
  config.early_stopping_patience = 10  # evaluations without a better validation selection_metric
  config.half_precision = False        # bfloat16 compute
  config.seed = 0
  config.log_every_steps = 50
  config.shuffle_buffer = 2048
  config.augment = ()                  # names from specsense_jax.data.augment.AUGMENTATIONS, e.g. ('time_roll',)
  # Datasets mixed into training, 'name:share,...' (e.g. 'spectrum_sensing/synthetic_128:0.3'); the rest of the
  # examples come from `dataset`, which alone is validated and tested on.
  config.train_mix = ''
  # Recording names ('a,b') whose frames no training dataset gives (leave-one-recording-out fine-tuning).
  config.exclude_recordings = ''
  config.max_steps = ml_collections.FieldReference(None, field_type=int)  # overrides num_epochs when set
  return config


def matlab_recipe(config: ml_collections.ConfigDict) -> None:
  """The MathWorks example's training options (trainingOptions: sgdm, 0.02, piecewise 0.1/10, batch 40)."""
  config.batch_size = 40
  config.learning_rate = 0.02
  config.schedule = 'piecewise'
  config.warmup_epochs = 0.0
  config.num_epochs = 20
  config.selection_metric = 'loss'
  config.early_stopping_patience = 5


def runlocal(config: ml_collections.ConfigDict) -> None:
  """Shrinks any config to a CPU smoke run on the 20-frame synthetic_tiny dataset (64x64)."""
  config.dataset = 'spectrum_sensing/synthetic_tiny'
  config.image_size = 64
  config.batch_size = 8
  config.num_epochs = 2
  config.warmup_epochs = 0.0
  config.log_every_steps = 1


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, 'configs/default.py', runlocal=False, matlab=False)
  config = base_config()
  config.model_kwargs.stem_stride = 2  # the shipped model's layout: 4x cheaper than full resolution
  if args.matlab:
    matlab_recipe(config)
  if args.runlocal:
    runlocal(config)
  config.lock()
  return config
