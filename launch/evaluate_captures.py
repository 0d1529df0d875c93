r"""Evaluates a trained network on the real over-the-air captures (per-recording IoU table).

  python -m launch.evaluate_captures --captures=../shared/realdata/captures --output=reports/captures
  python -m launch.evaluate_captures --captures=../shared/realdata/captures --model=runs/default
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.evaluation import captures
from specsense_jax.inference import trained_models

_CAPTURES = flags.DEFINE_string('captures', None, 'Folder of the raw captures (see capture_catalog).',
                                required=True)
_MODEL = flags.DEFINE_string('model', trained_models.DEFAULT, 'Shipped model name, packaged folder or workdir.')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder for captures.json and captures.md.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  rows = captures.evaluate_captures(_CAPTURES.value, _MODEL.value, _OUTPUT.value)
  print(captures.markdown_table(rows), end='')


if __name__ == '__main__':
  console.run(main)
