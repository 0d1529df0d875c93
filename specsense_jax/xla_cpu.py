"""XLA:CPU settings measured faster for these networks (README "Benchmarks"); accelerators are unaffected.

Two places, as XLA allows: `PROCESS_FLAGS` go into XLA_FLAGS before JAX starts (`python -m launch.*` adds
them) and hold for every computation of the process; `train_step_options` are per-compilation options that
`training.steps.make_steps` gives the train step alone. This module imports no JAX at import time, so the
launchers can read `PROCESS_FLAGS` before JAX reads XLA_FLAGS.

SPECSENSE_XLA_CPU_FLAGS=0 turns both off, and XLA_FLAGS that choose YNNPACK fusions themselves are respected.
"""

from __future__ import annotations

import functools
import os

OPT_OUT_ENV = 'SPECSENSE_XLA_CPU_FLAGS'
YNN_FLAG = 'xla_cpu_experimental_ynn_fusion_type'  # the XLA option both places set

# jaxlib 0.10's XLA:CPU sends convolutions and matmuls to YNNPACK one by one; its own (Eigen) kernels are faster
# for these networks: the default network trains at 73 instead of 50 images/s and infers at 258 instead of 162.
PROCESS_FLAGS = f'--{YNN_FLAG}=-individual_convolution,-individual_dot'
FLAGS_KNOWN_IN = ('0.10.',)  # jaxlib releases whose XLA has the flag (an unknown XLA flag is fatal)

# The train step alone: each matmul fused with its elementwise neighbours in YNNPACK, beside YNNPACK's reductions
# (BatchNorm's sums; without them ResNet-50 trains at 1.2 instead of 1.9 images/s). Same process, alternating, on
# a 2-core CPU: DeepLabv3+ ResNet-50 at 256, batch 8, 2.17 against 1.92 images/s, MobileNetV2 5.77 against
# 5.11, ResNet-18 at 128, batch 16, 21.3 against 19.6, the default network 63 either way. Not for inference:
# there the fused matmuls cost DeepLabv3+ 10-20 %.
TRAIN_STEP_OPTIONS = {YNN_FLAG: 'LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_DOT'}


def opted_out() -> bool:
  """True where SPECSENSE_XLA_CPU_FLAGS=0 asks for XLA's own defaults."""
  return os.environ.get(OPT_OUT_ENV) == '0'


def user_chose_ynn_fusions() -> bool:
  """True where XLA_FLAGS choose YNNPACK fusions other than `PROCESS_FLAGS` (a user's own setting)."""
  flags = os.environ.get('XLA_FLAGS', '').split()
  return any(YNN_FLAG in flag and flag != PROCESS_FLAGS for flag in flags)


@functools.cache
def _accepts(option: str, value: str) -> bool:
  # This XLA knows the option and the value (renamed or dropped in another release: then nothing is set).
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  try:
    jax.jit(lambda x: x + 1, compiler_options={option: value}).lower(jnp.zeros((), jnp.float32)).compile()
  except Exception:  # pylint: disable=broad-except
    return False
  return True


def train_step_options(platform: str) -> dict[str, str] | None:
  """`jax.jit` compiler options for a train step on `platform` ('cpu', 'gpu', 'tpu'), or None for XLA's own.

  Args:
    platform: the platform of the devices the step runs on.

  Returns:
    `TRAIN_STEP_OPTIONS` on the CPU where this XLA accepts them, unless SPECSENSE_XLA_CPU_FLAGS=0 or XLA_FLAGS
    choose YNNPACK fusions themselves; else None.
  """
  if platform != 'cpu' or opted_out() or user_chose_ynn_fusions():
    return None
  if not all(_accepts(option, value) for option, value in TRAIN_STEP_OPTIONS.items()):
    return None
  return dict(TRAIN_STEP_OPTIONS)
