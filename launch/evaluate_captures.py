r"""Evaluates trained networks on real recordings: one table, per recording and per model.

  python -m launch.evaluate_captures --captures=../shared/realdata/captures --output=reports/captures
  python -m launch.evaluate_captures --captures=../shared/realdata/captures --model=all
  python -m launch.evaluate_captures --captures=DIR --model=runs/default,custom_realistic_128
  python -m launch.evaluate_captures --captures=DIR --model=runs/six --band_plan   # + rows under the band plan

The folder's annotated recordings are its SigMF recordings with annotations (`core:label` NR, LTE, Unknown;
Ignore for regions whose truth is unknown) and the raw captures the built-in catalogue describes.
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.evaluation import captures
from specsense_jax.inference import trained_models

_CAPTURES = flags.DEFINE_string('captures', None, 'Folder of annotated recordings (SigMF, or the catalogued raw '
                                'captures).', required=True)
_MODEL = flags.DEFINE_list('model', [trained_models.DEFAULT], 'Shipped model names, packaged folders or workdirs, '
                           'comma-separated; "all": every shipped model.')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder for captures.json and captures.md.')
_BAND_PLAN = flags.DEFINE_bool('band_plan', False, 'Also evaluate each model under the band-plan prior (WLAN and '
                               'Radar only inside their allocations, from each recording\'s centre frequency).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  models = 'all' if _MODEL.value == ['all'] else _MODEL.value
  rows = captures.evaluate_captures(_CAPTURES.value, models, _OUTPUT.value, band_plan=_BAND_PLAN.value)
  print(captures.markdown_table(rows), end='')


if __name__ == '__main__':
  console.run(main)
