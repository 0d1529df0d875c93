r"""Trains a model.

  python -m launch.train --config=configs/default.py --workdir=runs/default [--config.batch_size=16 ...]
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from launch import common
from specsense_jax import train
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, summaries and reports.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  common.initialize()
  result = train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  logging.info('test metrics: %s', {k: v for k, v in result.items() if not isinstance(v, list)})


if __name__ == '__main__':
  app.run(main)
