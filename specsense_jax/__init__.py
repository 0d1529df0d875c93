"""specsense_jax."""
