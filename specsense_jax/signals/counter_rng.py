"""Counter-based random numbers: the value at index i depends only on (key, i).

Resource-element data and noise come from here, so any subset of OFDM symbols or samples can be rendered on
its own and equals the same part of the whole frame. splitmix64's finalizer is the mixing function.
"""

from __future__ import annotations

import functools

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import sequences

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def key_from(seed_sequence: np.random.SeedSequence) -> int:
  """A 64-bit key from a SeedSequence."""
  return int(seed_sequence.generate_state(1, np.uint64)[0])


def hash_u64(key: int, index) -> np.ndarray:
  """splitmix64(key + (index + 1) * golden): 64 well-mixed bits per index (uint64 array)."""
  with np.errstate(over='ignore'):
    z = np.uint64(key) + (np.asarray(index, np.uint64) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@functools.lru_cache(maxsize=None)
def _constellation(modulation: str) -> np.ndarray:
  q = sequences.MODULATION_ORDERS[modulation]
  patterns = (np.arange(2**q)[:, None] >> np.arange(q)[::-1]) & 1
  return sequences.qam_from_bits(patterns.reshape(-1), modulation)


def qam(key: int, index, modulation: str = 'qpsk') -> np.ndarray:
  """Uniformly random constellation points of `modulation` (complex64), one per index."""
  if modulation not in sequences.MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(sequences.MODULATION_ORDERS)}, got {modulation!r}')
  bits = hash_u64(key, index) >> np.uint64(56)
  return _constellation(modulation)[(bits >> np.uint64(8 - sequences.MODULATION_ORDERS[modulation]))
                                    .astype(np.int64)]


def integers(key: int, index, high: int) -> np.ndarray:
  """Uniform integers in [0, high) (high << 2**32), one per index."""
  return ((hash_u64(key, index) >> np.uint64(32)) % np.uint64(high)).astype(np.int64)


def complex_normal(key: int, index) -> np.ndarray:
  """Circularly symmetric complex Gaussian samples with unit variance (Box-Muller), complex64."""
  h = hash_u64(key, index)
  u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32  # exact in float64
  radius = np.sqrt(-portable_math.log(u1))  # sqrt(-2 ln u1) / sqrt(2): unit complex variance
  sin, cos = portable_math.sincos_turns32(h & np.uint64(0xFFFFFFFF))  # angle 2 pi (h mod 2^32) / 2^32
  out = np.empty(radius.shape, np.complex64)
  out.real = radius * cos
  out.imag = radius * sin
  return out
