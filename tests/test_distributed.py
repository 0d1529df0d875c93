"""Two processes on this machine (jax.distributed over localhost, 4 CPU devices each) train exactly like one
process with 8 devices: same data order, same losses, same parameters."""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from specsense_jax.training import checkpoints
from tests.test_train import REPO

ARGS = ['--config=configs/default.py:runlocal', '--config.max_steps=4', '--config.early_stopping_patience=100']


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
  env = dict(os.environ, JAX_PLATFORMS='cpu', SPECSENSE_TFDS_WORKERS='1',
             XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}')
  env.pop('JAX_NUM_CPU_DEVICES', None)
  return env


def _params(workdir):
  state = checkpoints.restore_state(str(workdir), checkpoints.load_config(str(workdir)), 'latest')
  return int(state.step), jax.tree.leaves(state.params)


@pytest.mark.slow
def test_two_processes_train_like_one(tiny_data_dir, tmp_path):
  common = [sys.executable, '-m', 'launch.train', *ARGS, f'--config.data_dir={tiny_data_dir}']
  single = subprocess.run(common + [f'--workdir={tmp_path / "one"}'], cwd=REPO, env=_env(8), capture_output=True,
                          text=True, timeout=600)
  assert single.returncode == 0, single.stderr[-3000:]
  address = f'localhost:{_free_port()}'
  logs = [open(tmp_path / f'process{i}.log', 'w+') for i in range(2)]  # files, not pipes: a full pipe would
  procs = [subprocess.Popen(common + [f'--workdir={tmp_path / "two"}', '--distributed',  # block one process
                                      f'--coordinator_address={address}', '--num_processes=2', f'--process_id={i}'],
                            cwd=REPO, env=_env(4), stdout=log, stderr=subprocess.STDOUT, text=True)
           for i, log in enumerate(logs)]
  for p in procs:
    p.wait(timeout=600)
  outputs = [(tmp_path / f'process{i}.log').read_text() for i in range(2)]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-3000:]
  assert 'JAX process 1/2, 4 local of 8 devices' in outputs[1]
  step_one, params_one = _params(tmp_path / 'one')
  step_two, params_two = _params(tmp_path / 'two')
  assert step_one == step_two == 4
  # Cross-process all-reduces sum in another order than in-process ones: float32 rounding, compounded over 4
  # steps, leaves differences of 1e-5 (1e-4 on a rare near-cancelling gradient); a different data order or a
  # missing gradient share gives ~1e-2.
  for a, b in zip(params_one, params_two):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=3e-4)
  losses = lambda text: [float(line.split(' loss ')[1].split()[0]) for line in text.splitlines()
                         if ' loss ' in line]
  assert len(losses(outputs[0])) == 4
  np.testing.assert_allclose(losses(outputs[0]), losses(single.stderr), atol=3e-4)  # logged to 4 decimals
