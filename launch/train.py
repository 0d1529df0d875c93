r"""Trains a model.

  python -m launch.train --config=configs/default.py --workdir=runs/default [--config.batch_size=16 ...]
"""

from absl import logging

from launch import common
from specsense_jax import console
from specsense_jax.training import train
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset


def main(argv):
  common.initialize(argv)
  result = train.train_and_evaluate(common.CONFIG.value, common.WORKDIR.value)
  logging.info('test metrics: %s', {k: v for k, v in result.items() if not isinstance(v, list)})


if __name__ == '__main__':
  console.run(main)
