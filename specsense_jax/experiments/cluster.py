"""Turns a train, crossval or sweep command into a Cloud TPU VM pod run or a Slurm GPU job.

Both forms run the same command on every host with `--distributed` added (for a sweep: passed on to every
point's `launch.train`), and `jax.distributed.initialize()` finds its peers from the TPU metadata or the
Slurm environment. Workdirs and the sweep root must be on storage every host sees at the same path (a
gcsfuse or Filestore mount on TPU VMs, NFS/Lustre on Slurm); TFDS reads `gs://` directly, so `--data_dir`
may be a bucket.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Sequence

DISTRIBUTED_ENTRY_POINTS = ('launch.train', 'launch.crossval')


def distributed_command(command: Sequence[str]) -> list[str]:
  """`command` with the flag that makes every host join one job (a sweep passes it to its points)."""
  command = list(command)
  if 'launch.sweep' in command:
    return command + ['--train_flags=--distributed']
  if not any(entry in command for entry in DISTRIBUTED_ENTRY_POINTS):
    raise ValueError(f'expected a python -m launch.train, launch.crossval or launch.sweep command, got '
                     f'{shlex.join(command)!r}')
  return command + ['--distributed']


def _environment(data_dir: str | None) -> dict[str, str]:
  env = {'PYTHONUNBUFFERED': '1', 'TF_CPP_MIN_LOG_LEVEL': '2'}
  if data_dir:
    env['TFDS_DATA_DIR'] = data_dir
  return env


@dataclasses.dataclass(frozen=True)
class TpuPod:
  """A Cloud TPU VM (pod slice) created beforehand with `gcloud compute tpus tpu-vm create`."""
  name: str
  zone: str
  project: str | None = None
  remote_dir: str = '~/specsense_jax'
  data_dir: str | None = None

  def _gcloud(self, verb: str) -> list[str]:
    return (['gcloud', 'compute', 'tpus', 'tpu-vm', verb] + ([self.name] if verb == 'ssh' else [])
            + [f'--zone={self.zone}'] + ([f'--project={self.project}'] if self.project else []) + ['--worker=all'])

  def script(self, command: Sequence[str]) -> str:
    """A bash script that ships this checkout (HEAD) to every worker, installs it and runs `command`."""
    env = ' '.join(f'{k}={shlex.quote(v)}' for k, v in _environment(self.data_dir).items())
    install = (f'mkdir -p {self.remote_dir} && tar -xzf ~/specsense_jax.tar.gz -C {self.remote_dir} && '
               f'cd {self.remote_dir} && python3 -m pip install -q -e ".[tpu]"')
    run = f'cd {self.remote_dir} && {env} {shlex.join(distributed_command(command))}'
    lines = [
        '#!/usr/bin/env bash',
        f'# Cloud TPU VM pod run on {self.name} ({self.zone}). Run from the repository root.',
        'set -euo pipefail',
        'git archive --format=tar.gz -o /tmp/specsense_jax.tar.gz HEAD',
        shlex.join(self._gcloud('scp') + ['/tmp/specsense_jax.tar.gz', f'{self.name}:specsense_jax.tar.gz']),
        shlex.join(self._gcloud('ssh') + [f'--command={install}']),
        shlex.join(self._gcloud('ssh') + [f'--command={run}']),
    ]
    return '\n'.join(lines) + '\n'


@dataclasses.dataclass(frozen=True)
class SlurmJob:
  """A Slurm batch job with one task per GPU host."""
  nodes: int
  gpus_per_node: int
  repo_dir: str
  job_name: str = 'specsense'
  time: str = '24:00:00'
  partition: str | None = None
  cpus_per_task: int = 16
  venv: str | None = '.venv'
  data_dir: str | None = None

  def __post_init__(self):
    for field in ('nodes', 'gpus_per_node', 'cpus_per_task'):
      if getattr(self, field) < 1:
        raise ValueError(f'--{field} must be at least 1, got {getattr(self, field)}')

  def script(self, command: Sequence[str]) -> str:
    """The sbatch script: `srun` starts one process per host, each owning that host's GPUs."""
    directives = [f'--job-name={self.job_name}', f'--nodes={self.nodes}', '--ntasks-per-node=1',
                  f'--gpus-per-node={self.gpus_per_node}', f'--cpus-per-task={self.cpus_per_task}',
                  f'--time={self.time}', '--output=%x-%j.out']
    if self.partition:
      directives.insert(1, f'--partition={self.partition}')
    lines = ['#!/usr/bin/env bash'] + [f'#SBATCH {d}' for d in directives] + [
        '# jax.distributed.initialize() reads the Slurm environment: one task per node, all its GPUs visible.',
        'set -euo pipefail',
        f'cd {shlex.quote(self.repo_dir)}',
    ]
    if self.venv:
      lines.append(f'source {shlex.quote(self.venv)}/bin/activate')
    lines += [f'export {k}={shlex.quote(v)}' for k, v in _environment(self.data_dir).items()]
    lines.append('srun ' + shlex.join(distributed_command(command)))
    return '\n'.join(lines) + '\n'
