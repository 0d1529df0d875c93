r"""Draws the synthesis gallery of the README: one figure per kind of cell, and realistic scenes.

  python -m launch.gallery --output=docs/figures --captures_dir=../shared/realdata/captures
"""

import os

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.experiments import gallery

_OUTPUT = flags.DEFINE_string('output', 'docs/figures', 'Folder for the PNG figures.')
_CAPTURES_DIR = flags.DEFINE_string('captures_dir', '../shared/realdata/captures',
                                    'Real captures shown beside the cells configured like them (skipped if absent).')
_CASES = flags.DEFINE_list('cases', None, f'Cases to draw (default all): {", ".join(gallery.CASES)}.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  output, captures = os.path.expanduser(_OUTPUT.value), os.path.expanduser(_CAPTURES_DIR.value)
  if _CASES.value:
    paths = [gallery.render_case(name, output, captures) for name in _CASES.value]
  else:
    paths = gallery.render_all(output, captures)
  print('\n'.join(paths))


if __name__ == '__main__':
  console.run(main)
