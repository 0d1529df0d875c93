r"""Fits a model's confidence temperature on a validation split and reports the expected calibration error.

  python -m launch.calibrate --model=custom_realistic_128
  python -m launch.calibrate --model=runs/packaged --write      # record it: predict then uses it

The temperature is fitted on --split (never the test split); the ECE is reported there and on --test_split,
before (T = the model's current temperature) and after.
"""

import json

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.evaluation import calibration
from specsense_jax.inference import trained_models

_MODEL = flags.DEFINE_string('model', trained_models.DEFAULT, 'Shipped model name, packaged folder or workdir.')
_SPLIT = flags.DEFINE_string('split', 'validation', 'Split the temperature is fitted on.')
_TEST_SPLIT = flags.DEFINE_string('test_split', 'test', 'Split the fitted temperature is also measured on ("" to '
                                  'skip).')
_DATASET = flags.DEFINE_string('dataset', None, 'TFDS dataset; default the model\'s training dataset.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data directory.')
_WRITE = flags.DEFINE_bool('write', False, 'Record the temperature in the packaged model\'s config.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  result = calibration.calibrate(_MODEL.value, _SPLIT.value, dataset=_DATASET.value, data_dir=_DATA_DIR.value,
                                 test_split=_TEST_SPLIT.value or None)
  print(json.dumps({k: v for k, v in result.items() if k != 'test'}, indent=1))
  if 'test' in result:
    test = result['test']
    print(f"{test['split']}: ECE {test['ece_before']:.4f} -> {test['ece_after']:.4f} ({test['pixels']} pixels)")
  if _WRITE.value:
    print('recorded in', calibration.write_temperature(_MODEL.value, result))


if __name__ == '__main__':
  console.run(main)
