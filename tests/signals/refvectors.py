"""Readers for the MATLAB-made LTE reference vectors in ../shared/realdata/refvectors."""

import numpy as np


def load_ground(path) -> np.ndarray:
  """One line of comma-separated integers, complex values interleaved re, im."""
  values = np.array([int(v) for v in open(path).read().strip().strip(',').split(',')], np.float64)
  return values[0::2] + 1j * values[1::2]


def quantize(x: np.ndarray, scale: float) -> np.ndarray:
  """The vectors' floor(x·scale), applied to real and imaginary parts."""
  x = np.asarray(x) * scale
  return np.floor(x.real) + 1j * np.floor(x.imag)
