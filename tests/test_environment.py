"""The test environment itself: simulated devices and the package's importability."""

import jax
import numpy as np


def test_eight_simulated_cpu_devices():
  assert jax.device_count() == 8
  assert {d.platform for d in jax.devices()} == {'cpu'}


def test_sharded_computation_uses_all_devices():
  mesh = jax.make_mesh((8,), ('data',))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  x = jax.device_put(np.arange(16.0), sharding)
  total = jax.jit(lambda v: (v * 2).sum())(x)
  assert len(x.addressable_shards) == 8
  assert float(total) == 2 * sum(range(16))
