"""Device calibration: dense matmul throughput per dtype, the yardstick for model FLOP/s shares."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from specsense_jax.benchmarks import harness


def run(options: harness.Options) -> list[dict]:
  """Measures achieved TFLOP/s of an n×n×n matmul on the default device in float32 and bfloat16."""
  n = 512 if options.quick else 2048
  rows = []
  for dtype in (jnp.float32, jnp.bfloat16):
    key_a, key_b = jax.random.split(jax.random.key(0))
    a = jax.random.normal(key_a, (n, n), dtype)
    b = jax.random.normal(key_b, (n, n), dtype)
    matmul = jax.jit(jnp.matmul)
    timing = harness.time_call(lambda: matmul(a, b).block_until_ready(), repeats=options.repeats)
    flops = 2.0 * n ** 3
    rows.append({
        'op': f'matmul {n}x{n}x{n}',
        'dtype': jnp.dtype(dtype).name,
        'device': str(jax.devices()[0].device_kind),
        'median_ms': timing.median_s * 1e3,
        'tflops': flops / timing.median_s / 1e12,
    })
  return rows
