r"""Turns the raw over-the-air captures beside the project into annotated SigMF recordings.

  python -m launch.annotate_captures --captures_dir=../shared/realdata/captures \
      --output=~/tensorflow_datasets/downloads/manual
"""

import os

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.io import catalog

_CAPTURES_DIR = flags.DEFINE_string('captures_dir', '../shared/realdata/captures', 'Folder of the raw captures.')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder for the SigMF recordings.', required=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  for path in catalog.write_all(os.path.expanduser(_CAPTURES_DIR.value), os.path.expanduser(_OUTPUT.value)):
    print(path)


if __name__ == '__main__':
  console.run(main)
