r"""Trains a model.

  python -m launch.train --config=configs/default.py --workdir=runs/default [--config.batch_size=16 ...]
  python -m launch.train --config=configs/realistic.py --workdir=runs/tuned --config.init_from=custom_realistic_128

--config.init_from takes a shipped model's name, a packaged model folder or a training workdir.
"""

from absl import logging

from launch import common
from specsense_jax import console
from specsense_jax.inference import trained_models
from specsense_jax.training import train
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset


def main(argv):
  common.initialize(argv)
  config = common.CONFIG.value
  if config.get('init_from'):  # a shipped model's name -> its folder
    config.init_from = trained_models.resolve(config.init_from)
  result = train.train_and_evaluate(config, common.WORKDIR.value)
  logging.info('test metrics: %s', {k: v for k, v in result.items() if not isinstance(v, list)})


if __name__ == '__main__':
  console.run(main)
