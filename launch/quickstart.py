r"""End-to-end quickstart on this machine; run through `bash scripts/quickstart.sh`.

  python -m launch.quickstart --workdir=runs/quickstart
"""

from absl import app
from absl import flags

from configs import default
from specsense_jax import console
from specsense_jax.experiments import quickstart
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset

_WORKDIR = flags.DEFINE_string('workdir', 'runs/quickstart', 'Where outputs and report.md go.')
_STAGES = flags.DEFINE_list('stages', [], f'Subset of stages to run (default: all): {list(quickstart.STAGES)}.')
_DATASET = flags.DEFINE_string('dataset', quickstart.QUICKSTART_DATASET, 'spectrum_sensing config to build and train on.')
_EPOCHS = flags.DEFINE_integer('epochs', quickstart.QUICKSTART_EPOCHS, 'Training epochs.', lower_bound=1)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = default.get_config('runlocal' if _DATASET.value == 'synthetic_tiny' else None)
  quickstart.run(_WORKDIR.value, _STAGES.value or None, train_config=config, dataset=_DATASET.value,
                 epochs=_EPOCHS.value)


if __name__ == '__main__':
  console.run(main)
