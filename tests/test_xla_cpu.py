"""XLA:CPU settings: the train step alone gets YNNPACK's fused matmuls, with the same results; opt-outs hold."""

import re

import jax
import numpy as np
import optax
import pytest

from specsense_jax import xla_cpu
from specsense_jax.models import build_model
from specsense_jax.training import steps


def _fused_dots(hlo: str) -> int:
  """YNNPACK fusions whose computation holds a dot and an elementwise op (never made by 'individual' dots)."""
  bodies = dict(re.findall(r'\n(%?[\w.]+) [^\n]*\{\n(.*?)\n\}', hlo, re.S))
  called = re.findall(r'kind=kCustom, calls=(%?[\w.]+)', hlo)
  return sum(1 for name in called
             if ' dot(' in bodies.get(name, '') and re.search(r' (multiply|add|select|maximum)\(', bodies[name]))


@pytest.fixture
def no_user_flags(monkeypatch):
  monkeypatch.delenv(xla_cpu.OPT_OUT_ENV, raising=False)
  monkeypatch.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=8')


def test_options_only_for_the_cpu_and_not_against_the_user(monkeypatch, no_user_flags):
  assert xla_cpu.train_step_options('cpu') == xla_cpu.TRAIN_STEP_OPTIONS
  assert xla_cpu.train_step_options('gpu') is None and xla_cpu.train_step_options('tpu') is None
  monkeypatch.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=8 ' + xla_cpu.PROCESS_FLAGS)
  assert xla_cpu.train_step_options('cpu') == xla_cpu.TRAIN_STEP_OPTIONS  # the launchers' own flag
  monkeypatch.setenv('XLA_FLAGS', '--xla_cpu_experimental_ynn_fusion_type=-reduce')  # the user's choice
  assert xla_cpu.train_step_options('cpu') is None
  monkeypatch.setenv('XLA_FLAGS', '')
  monkeypatch.setenv(xla_cpu.OPT_OUT_ENV, '0')
  assert xla_cpu.train_step_options('cpu') is None


def test_unknown_option_is_not_set():
  accepts = xla_cpu._accepts  # pylint: disable=protected-access
  assert not accepts('xla_cpu_experimental_ynn_fusion_type', 'LIBRARY_FUSION_TYPE_NO_SUCH')


def _one_step(monkeypatch, opt_out: bool):
  if opt_out:
    monkeypatch.setenv(xla_cpu.OPT_OUT_ENV, '0')
  else:
    monkeypatch.delenv(xla_cpu.OPT_OUT_ENV, raising=False)
  model = build_model('deeplabv3plus_resnet18', 3, decoder_convs=1)
  tx = optax.sgd(0.05, momentum=0.9)
  mesh = steps.data_mesh(jax.devices()[:1])
  jitted = steps.make_steps(model, tx, mesh, [0.2, 0.3, 0.5])
  state = jitted.place_state(steps.create_train_state(model, tx, jax.random.key(0), (64, 64, 3)))
  start = jax.device_get(state.params)
  rng = np.random.default_rng(0)
  batch = {'image': rng.uniform(0, 1, (2, 64, 64, 3)).astype(np.float32),
           'mask': rng.integers(0, 3, (2, 64, 64)).astype(np.int32),
           'signals': np.ones((2, 3), np.float32), 'valid': np.ones(2, np.float32)}
  batch = jax.device_put(batch, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data')))
  train_hlo = jitted.train_step.lower(state, batch).compile().as_text()
  eval_hlo = jitted.eval_step.lower(state.variables, batch).compile().as_text()
  state, metrics = jitted.train_step(state, batch)
  update = jax.tree.map(lambda new, old: new - old, jax.device_get(state.params), start)
  return float(metrics['loss']), update, _fused_dots(train_hlo), _fused_dots(eval_hlo)


def test_train_step_fuses_matmuls_with_the_same_results(monkeypatch, no_user_flags):
  loss, update, train_fused, eval_fused = _one_step(monkeypatch, opt_out=False)
  assert train_fused > 0 and eval_fused == 0  # the option reaches XLA, for the train step alone
  loss0, update0, train_fused0, _ = _one_step(monkeypatch, opt_out=True)
  assert train_fused0 == 0
  assert loss == pytest.approx(loss0, rel=1e-5)  # another summation order, the same step
  # Each layer's update alike up to float rounding, which the random labels' cancelling gradients amplify:
  # measured 0.3-0.7 % of the update's norm, as 2 devices against 1 give without the options (0.05-0.3 %); a
  # wrong kernel would be off by the update itself.
  errors = jax.tree.leaves(jax.tree.map(lambda a, b: np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12),
                                        update, update0))
  assert max(errors) < 0.05
