"""Per-stage benchmarks, registered by name in `specsense_jax.benchmarks.harness.BENCHMARKS`."""
