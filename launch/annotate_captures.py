r"""Annotated SigMF recordings from raw captures: the hand-made catalogue, or automatic labels for any folder.

  python -m launch.annotate_captures --captures_dir=../shared/realdata/captures \
      --output=~/tensorflow_datasets/downloads/manual
  python -m launch.annotate_captures --auto --input=recordings/ --output=labelled/ \
      --manifest=recordings/manifest.json        # raw files: {"x.bin": {"sample_rate":..., "dtype":..., ...}}
  python -m launch.annotate_captures --auto --input=raw/ --output=labelled/ --sample_rate=19.2e6 --dtype=ci8 \
      --center_freq=1815.3e6                     # one setting for every raw file

--auto finds LTE and NR cells on their rasters, proves each by its MIB and writes, per input, a SigMF recording of
the same base name with standard annotations plus `specsense:` fields (cell ID, bandwidth source, confidence,
MIB) and a figure of the carriers on the spectrogram (`specsense_jax/io/auto_labelling.py`). The captured TFDS
configs build from the output folder.
"""

import os

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.io import auto_labelling
from specsense_jax.io import catalog

_CAPTURES_DIR = flags.DEFINE_string('captures_dir', '../shared/realdata/captures', 'Folder of the catalogued raw '
                                    'captures (catalogue mode).')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder for the SigMF recordings.', required=True)
_AUTO = flags.DEFINE_bool('auto', False, 'Label the recordings of --input automatically instead of from the '
                          'catalogue.')
_INPUT = flags.DEFINE_string('input', None, '--auto: folder of SigMF or raw recordings.')
_MANIFEST = flags.DEFINE_string('manifest', None, '--auto: JSON file name -> {sample_rate, dtype, '
                                'center_frequency} for raw recordings.')
_SAMPLE_RATE = flags.DEFINE_float('sample_rate', None, '--auto: sample rate of raw recordings without a manifest '
                                  'entry.')
_DTYPE = flags.DEFINE_enum('dtype', None, ['ci8', 'ci16', 'cf32'], '--auto: sample type of raw recordings.')
_CENTER_FREQ = flags.DEFINE_float('center_freq', None, '--auto: centre frequency (Hz) of raw recordings.')
_FIGURES = flags.DEFINE_bool('figures', True, '--auto: a PNG per recording with the carriers drawn.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _AUTO.value:
    paths = catalog.write_all(os.path.expanduser(_CAPTURES_DIR.value), os.path.expanduser(_OUTPUT.value))
  elif not _INPUT.value:
    raise app.UsageError('--auto needs --input=DIR (a folder of recordings)')
  else:
    paths = [r.summary() for r in auto_labelling.label_folder(
        os.path.expanduser(_INPUT.value), os.path.expanduser(_OUTPUT.value), manifest_path=_MANIFEST.value,
        defaults={'sample_rate': _SAMPLE_RATE.value, 'dtype': _DTYPE.value, 'center_frequency': _CENTER_FREQ.value},
        figures=_FIGURES.value)]
  print('\n'.join(paths))


if __name__ == '__main__':
  console.run(main)
