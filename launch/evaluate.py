r"""Evaluates a training workdir's best checkpoint, or a shipped or packaged model, and writes a report.

  python -m launch.evaluate --workdir=runs/default --split=test
  python -m launch.evaluate --workdir=runs/default --dataset=spectrum_sensing/captured_128 --split=train
  python -m launch.evaluate --model=custom_realistic_128 --dataset=spectrum_sensing/realistic_128 \
      --output=reports/realistic_baseline
  python -m launch.evaluate --model=custom_realistic_128 --dataset=spectrum_sensing/realistic_128 --truth=occupancy \
      --output=reports/realistic_occupancy   # the cells that carry energy, not the carriers' nominal bands
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.evaluation import reports
from specsense_jax.training import tasks
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_WORKDIR = flags.DEFINE_string('workdir', None, 'Training workdir (or give --model).')
_MODEL = flags.DEFINE_string('model', None, 'A shipped model name or a packaged model folder (needs --output).')
_SPLIT = flags.DEFINE_string('split', 'test', 'TFDS split expression.')
_DATASET = flags.DEFINE_string('dataset', None, 'Another TFDS dataset (default: the training one).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: the training one).')
_OUTPUT = flags.DEFINE_string('output', None, 'Report folder (default: workdir/eval_<split>).')
_TRUTH = flags.DEFINE_enum('truth', 'band', ['band', 'occupancy'],
                           "Score against the band truth ('mask') or the occupancy truth ('occupancy_mask', "
                           'realistic configs).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if bool(_WORKDIR.value) == bool(_MODEL.value) or (_MODEL.value and not _OUTPUT.value):
    raise app.UsageError('give either --workdir, or --model with --output')
  kwargs = dict(dataset=_DATASET.value, data_dir=_DATA_DIR.value, truth=_TRUTH.value)
  if _MODEL.value:
    report = reports.evaluate_model(_MODEL.value, _SPLIT.value, output_dir=_OUTPUT.value, **kwargs)
  else:
    report = reports.evaluate_workdir(_WORKDIR.value, _SPLIT.value, output_dir=_OUTPUT.value, **kwargs)
  print({k: report[k] for k in tasks.TASKS[report['task']].report_metrics})


if __name__ == '__main__':
  console.run(main)
