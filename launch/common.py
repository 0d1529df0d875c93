"""Flags and start-up shared by the training entry points (train, crossval): config, workdir, multi-host."""

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (path.py[:arg]).',
                                         lock_config=True)
WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, summaries and reports.')
flags.mark_flags_as_required(['config', 'workdir'])

_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize(): on Cloud TPU, Slurm and other detected clusters '
    'no further flags are needed; elsewhere give the three below.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None, 'host:port of process 0 (with --distributed).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Processes in the job (with --distributed).')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, 'This process, 0..num_processes-1 (with --distributed).')


def initialize(argv) -> None:
  """Rejects stray arguments, joins the multi-host job when --distributed is set, logs this process's place."""
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _DISTRIBUTED.value:
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)
  logging.info('JAX process %d/%d, %d local of %d devices', jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
