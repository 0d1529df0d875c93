r"""Runs a hyperparameter sweep: each point in ROOT/<name>, then a ranked results table.

  python -m launch.sweep --sweep=configs/sweeps/models.py --root=runs/models [--parallel=2] [--dry_run]
  python -m launch.sweep --sweep=configs/sweeps/crossval.py --root=runs/cv

Rerunning skips finished points and resumes interrupted ones. Writes ROOT/results.csv, results.md and
best_config.json. On a multi-host job pass --train_flags=--distributed so that every host runs each point
together.
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.experiments import sweep

_SWEEP = flags.DEFINE_string('sweep', None, 'Sweep file defining sweep(add).')
_ROOT = flags.DEFINE_string('root', None, 'Directory holding one workdir per point and the results.')
_PARALLEL = flags.DEFINE_integer('parallel', 1, 'Points trained at the same time.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Check the sweep and print the commands; run nothing.')
_METRIC = flags.DEFINE_string('metric', None, "Validation metric to rank by (default: 'val_' + selection_metric).")
_TRAIN_FLAGS = flags.DEFINE_multi_string('train_flags', [], 'Extra flags for every launch.train command.')
flags.mark_flags_as_required(['sweep', 'root'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  sweep.run_sweep(_SWEEP.value, _ROOT.value, parallel=_PARALLEL.value, dry_run=_DRY_RUN.value,
                  train_flags=_TRAIN_FLAGS.value, metric=_METRIC.value)


if __name__ == '__main__':
  console.run(main)
