r"""Chooses and records a class prior: how much less often a packaged model calls a rare class than its
class-weighted training taught it (`specsense_jax.evaluation.class_prior`).

  python -m launch.select_prior --model=runs/packaged --class_name=Radar \
      --captures=../shared/realdata/captures --dataset=spectrum_sensing/realistic_128_wlan_radar_rich --write

The class's IoU is measured on --split of --dataset (never a test split); the held-out recordings of
--captures are not used. With --write the chosen prior is recorded in the model's config.json, and predict,
evaluate and evaluate_captures apply it.
"""

import json

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.evaluation import class_prior
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_MODEL = flags.DEFINE_string('model', None, 'Packaged model folder or shipped model name.', required=True)
_CLASS = flags.DEFINE_string('class_name', 'Radar', 'The class whose probability is divided.')
_CAPTURES = flags.DEFINE_string('captures', None, 'Folder of the annotated real recordings.', required=True)
_DATASET = flags.DEFINE_string('dataset', None, 'TFDS dataset for the IoU; default the model\'s training one.')
_SPLIT = flags.DEFINE_string('split', 'validation', 'Its split (not the test split).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data directory.')
_DIVISORS = flags.DEFINE_list('divisors', [f'{d:g}' for d in class_prior.DIVISORS], 'Candidate divisors (>= 1).')
_BOUND = flags.DEFINE_float('bound', class_prior.BOUND, 'Largest share of a development recording\'s pixels that '
                            'may be called WLAN or Radar.')
_WRITE = flags.DEFINE_bool('write', False, 'Record the chosen prior in the packaged model\'s config.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    divisors = [float(d) for d in _DIVISORS.value]
  except ValueError as e:
    raise app.UsageError(f'--divisors must be numbers, got {_DIVISORS.value}') from e
  result = class_prior.select_class_prior(_MODEL.value, _CLASS.value, captures_dir=_CAPTURES.value,
                                          dataset=_DATASET.value, split=_SPLIT.value, data_dir=_DATA_DIR.value,
                                          divisors=divisors, bound=_BOUND.value)
  print(class_prior.markdown_table(result))
  print(json.dumps({k: result[k] for k in ('class', 'divisor', 'factor')}))
  if _WRITE.value:
    print('recorded in', class_prior.write_class_prior(_MODEL.value, result))


if __name__ == '__main__':
  console.run(main)
