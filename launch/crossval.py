r"""k-fold cross-validation of any training config: each fold in WORKDIR/fold_<i>, then a summary.

  python -m launch.crossval --config=configs/default.py --workdir=runs/cv [--config.num_folds=5]

Writes WORKDIR/crossval.json and crossval.md (mean, spread, per fold). Rerunning skips finished folds and
resumes an interrupted one.
"""

from absl import logging

from launch import common
from specsense_jax import console
from specsense_jax.training import crossval
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset


def main(argv):
  common.initialize(argv)
  report = crossval.cross_validate(common.CONFIG.value, common.WORKDIR.value)
  for name, s in report['summary'].items():
    logging.info('%s: %.4f ± %.4f over %d folds', name, s['mean'], s['std'], report['num_folds'])


if __name__ == '__main__':
  console.run(main)
