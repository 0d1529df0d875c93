"""Flax Linen models: encoders, DeepLabv3+ and classifier heads, the custom network, and weight import."""

from specsense_jax.models.registry import build_model, ENCODERS, MODELS
