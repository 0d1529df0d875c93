r"""k-fold cross-validation of any training config: each fold in WORKDIR/fold_<i>, then a summary.

  python -m launch.crossval --config=configs/default.py --workdir=runs/cv [--config.num_folds=5]

Writes WORKDIR/crossval.json and crossval.md (mean, spread, per fold). Rerunning skips finished folds and
resumes an interrupted one.
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from launch import common
from specsense_jax import crossval
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory of the folds and the summary.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  common.initialize()
  report = crossval.cross_validate(_CONFIG.value, _WORKDIR.value)
  for name, s in report['summary'].items():
    logging.info('%s: %.4f ± %.4f over %d folds', name, s['mean'], s['std'], report['num_folds'])


if __name__ == '__main__':
  app.run(main)
