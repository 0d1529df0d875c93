"""Fixtures of the signal tests: the MATLAB-made LTE reference vectors in ../shared/realdata/refvectors."""

import pathlib

import numpy as np
import pytest


class RefVectors:
  """Reads the reference vectors of one folder by file name."""

  def __init__(self, directory: pathlib.Path):
    self.dir = directory

  def load_integers(self, name: str) -> np.ndarray:
    """A `.ground` file: one line of comma-separated integers (a trailing comma allowed)."""
    return np.array((self.dir / name).read_text().strip().strip(',').split(','), np.int64)

  def load_ground(self, name: str) -> np.ndarray:
    """A `.ground` file of complex values, interleaved re, im."""
    values = self.load_integers(name).astype(np.float64)
    return values[0::2] + 1j * values[1::2]

  @staticmethod
  def quantize(x: np.ndarray, scale: float) -> np.ndarray:
    """The vectors' floor(x·scale), applied to real and imaginary parts."""
    x = np.asarray(x) * scale
    return np.floor(x.real) + 1j * np.floor(x.imag)


@pytest.fixture
def refvectors(shared_dir) -> RefVectors:
  """The vectors in ../shared/realdata/refvectors (through `shared_dir`: skipped, or failed in CI, without it)."""
  return RefVectors(shared_dir / 'realdata' / 'refvectors')
