r"""Prints (or writes) the commands that run a train, crossval or sweep command on a TPU pod or Slurm cluster.

  python -m launch.cluster --target=tpu --tpu_name=my-v5e-32 --zone=us-west4-a --output=run_tpu.sh -- \
      python3 -m launch.train --config=configs/deeplabv3plus.py:encoder=resnet50,size=256 --workdir=/mnt/runs/r50
  python -m launch.cluster --target=slurm --nodes=2 --gpus_per_node=8 --repo_dir=/shared/specsense_jax \
      --output=job.sbatch -- python -m launch.sweep --sweep=configs/sweeps/models.py --root=/shared/runs/models
"""

import os

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.experiments import cluster

_TARGET = flags.DEFINE_enum('target', None, ['tpu', 'slurm'], 'Cloud TPU VM pod or Slurm GPU cluster.')
_OUTPUT = flags.DEFINE_string('output', None, 'Write the script here (executable) instead of printing it.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS_DATA_DIR for every host (a gs:// bucket or shared path).')
_TPU_NAME = flags.DEFINE_string('tpu_name', None, 'TPU VM name (tpu).')
_ZONE = flags.DEFINE_string('zone', None, 'TPU zone (tpu).')
_PROJECT = flags.DEFINE_string('project', None, 'Google Cloud project (tpu; default: gcloud config).')
_REMOTE_DIR = flags.DEFINE_string('remote_dir', '~/specsense_jax', 'Checkout directory on the TPU workers.')
_NODES = flags.DEFINE_integer('nodes', 1, 'GPU hosts (slurm).')
_GPUS = flags.DEFINE_integer('gpus_per_node', 8, 'GPUs per host (slurm).')
_REPO_DIR = flags.DEFINE_string('repo_dir', None, 'The checkout on the shared filesystem (slurm).')
_PARTITION = flags.DEFINE_string('partition', None, 'Slurm partition.')
_TIME = flags.DEFINE_string('time', '24:00:00', 'Slurm time limit.')
_JOB_NAME = flags.DEFINE_string('job_name', 'specsense', 'Slurm job name.')
_VENV = flags.DEFINE_string('venv', '.venv', 'Virtual environment to activate, relative to --repo_dir (slurm).')
flags.mark_flag_as_required('target')


def main(argv):
  command = argv[1:]
  if not command:
    raise app.UsageError('give the command after --, e.g. -- python -m launch.train --config=... --workdir=...')
  if _TARGET.value == 'tpu':
    if not _TPU_NAME.value or not _ZONE.value:
      raise app.UsageError('--target=tpu needs --tpu_name and --zone')
    script = cluster.TpuPod(_TPU_NAME.value, _ZONE.value, _PROJECT.value, _REMOTE_DIR.value,
                            _DATA_DIR.value).script(command)
  else:
    if not _REPO_DIR.value:
      raise app.UsageError('--target=slurm needs --repo_dir (the checkout on the shared filesystem)')
    script = cluster.SlurmJob(_NODES.value, _GPUS.value, _REPO_DIR.value, _JOB_NAME.value, _TIME.value,
                              _PARTITION.value, venv=_VENV.value or None, data_dir=_DATA_DIR.value).script(command)
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      f.write(script)
    os.chmod(_OUTPUT.value, 0o755)
    print(f'wrote {_OUTPUT.value}')
  else:
    print(script, end='')


if __name__ == '__main__':
  console.run(main)
