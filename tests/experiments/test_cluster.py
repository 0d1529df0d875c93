"""Cluster launchers: the generated TPU-pod and Slurm scripts match reviewed golden files."""

import os
import pathlib
import subprocess
import sys

import pytest

from specsense_jax.experiments import cluster

GOLDEN = pathlib.Path(__file__).parent / 'golden'
REPO = pathlib.Path(__file__).parents[2]
TRAIN = ['python3', '-m', 'launch.train', '--config=configs/deeplabv3plus.py:encoder=resnet50,size=256',
         '--workdir=/mnt/runs/r50']
SWEEP = ['python', '-m', 'launch.sweep', '--sweep=configs/sweeps/models.py', '--root=/shared/runs/models']


def test_tpu_pod_script_matches_golden():
  pod = cluster.TpuPod('spectrum-v5e-32', 'us-west4-a', 'my-project', data_dir='gs://my-bucket/tensorflow_datasets')
  assert pod.script(TRAIN) == (GOLDEN / 'tpu_pod_train.sh').read_text()


def test_slurm_cli_writes_golden_script(tmp_path):
  output = tmp_path / 'job.sbatch'
  proc = subprocess.run([sys.executable, '-m', 'launch.cluster', '--target=slurm', '--nodes=2', '--gpus_per_node=8',
                         '--repo_dir=/shared/specsense_jax', '--partition=gpu',
                         '--data_dir=/shared/tensorflow_datasets', f'--output={output}', '--', *SWEEP],
                        cwd=REPO, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert output.read_text() == (GOLDEN / 'slurm_sweep.sbatch').read_text()
  assert os.access(output, os.X_OK)


def test_distributed_flag_placement_and_errors():
  assert cluster.distributed_command(['python', '-m', 'launch.crossval', '--workdir=w'])[-1] == '--distributed'
  assert cluster.distributed_command(SWEEP)[-1] == '--train_flags=--distributed'
  with pytest.raises(ValueError, match='expected a python -m launch.train, launch.crossval or launch.sweep'):
    cluster.distributed_command(['python', '-m', 'launch.predict'])
  with pytest.raises(ValueError, match='--nodes must be at least 1'):
    cluster.SlurmJob(0, 8, '/repo')
