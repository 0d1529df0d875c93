r"""Fine-tuning on auto-labelled recordings, measured leave one recording out against hand-made truth.

  python -m launch.leave_one_out --config=configs/finetune_captures.py --workdir=runs/finetune_captures \
      --truth=../shared/realdata/captures

One fine-tuning per recording of --truth, without that recording (and without --keep_out's, in every fold);
writes WORKDIR/leave_one_out.json and .md (`specsense_jax/experiments/leave_one_out.py`). Rerunning skips
finished folds and resumes an interrupted one.
"""

from absl import flags

from launch import common
from specsense_jax import console
from specsense_jax.experiments import leave_one_out
from specsense_jax.io import catalog
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_TRUTH = flags.DEFINE_string('truth', '../shared/realdata/captures', 'Folder of recordings with hand-made truth '
                             '(SigMF annotations, or the catalogued raw captures).')
_RECORDINGS = flags.DEFINE_list('recordings', None, 'Recording names to score (default: every annotated one).')
_KEEP_OUT = flags.DEFINE_list('keep_out', list(catalog.HELD_OUT_NAMES),
                              'Recordings left out of every fold\'s training (scored all the same).')


def main(argv):
  common.initialize(argv)
  rows = leave_one_out.leave_one_recording_out(common.CONFIG.value, common.WORKDIR.value, _TRUTH.value,
                                               recordings_to_score=_RECORDINGS.value,
                                               always_excluded=_KEEP_OUT.value)
  print(leave_one_out.markdown(rows, common.CONFIG.value.dataset), end='')


if __name__ == '__main__':
  console.run(main)
