"""TFDS dataset builders of specsense_jax (import a builder's package to register it)."""
