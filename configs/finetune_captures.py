r"""Fine-tuning the shipped default network on auto-labelled recordings, measured leave one recording out.

  python -m launch.annotate_captures --auto --input=../shared/realdata/captures --output=runs/auto_labelled \
      --manifest=captures_manifest.json
  tfds build tfds_builders/spectrum_sensing --config=captured_128 --manual_dir=runs/auto_labelled
  python -m launch.leave_one_out --config=configs/finetune_captures.py --workdir=runs/finetune_captures \
      --truth=../shared/realdata/captures

The recipe of configs/realistic.py (realistic_128 with MathWorks-parity frames mixed in, grey levels redrawn),
started from the network it shipped (`init_from`, custom_realistic_128) with a tenth of its learning rate and no
warm-up, for a short schedule, and `captured_share` of every batch drawn from the auto-labelled recordings
(captured_128 built from `launch.annotate_captures --auto`, all its splits: the fold's recording is left out by
`exclude_recordings`). Validation and test stay on realistic_128, so no checkpoint is chosen by a real recording.
"""

import ml_collections

from configs import common
from configs import realistic


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, 'configs/finetune_captures.py', captured_share=0.25, steps=300,
                          init_from='custom_realistic_128')
  if not 0 < args.captured_share < 0.7:
    raise ValueError(f'configs/finetune_captures.py: captured_share must be in (0, 0.7) (the parity share is 0.3), '
                     f'got {args.captured_share}')
  config = realistic.get_config()
  with config.unlocked():
    captured = 'spectrum_sensing/captured_128@train+validation+test'
    config.train_mix = f'{captured}:{args.captured_share:g},{config.train_mix}'
    config.init_from = args.init_from  # a shipped name is resolved by experiments.leave_one_out
    config.learning_rate = config.learning_rate / 10
    config.warmup_epochs = 0.0
    config.max_steps = args.steps
    config.early_stopping_patience = 1000  # a short schedule: every validation is kept, the best tested
  config.lock()
  return config
