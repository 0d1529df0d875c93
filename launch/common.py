"""Flags and start-up shared by the training entry points: multi-host initialization."""

from absl import flags
from absl import logging
import jax

_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize(): on Cloud TPU, Slurm and other detected clusters '
    'no further flags are needed; elsewhere give the three below.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None, 'host:port of process 0 (with --distributed).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Processes in the job (with --distributed).')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, 'This process, 0..num_processes-1 (with --distributed).')


def initialize() -> None:
  """Joins the multi-host job when --distributed is set, and logs this process's place in it."""
  if _DISTRIBUTED.value:
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)
  logging.info('JAX process %d/%d, %d local of %d devices', jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
