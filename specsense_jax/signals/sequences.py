"""3GPP pseudo-random and synchronization sequences, and QAM mapping (TS 38.211 / TS 36.211).

Everything here is a pure function of its arguments and vectorized over many initializations, because the
generators need thousands of short sequences per 40 ms frame.
"""

from __future__ import annotations

import functools

import numpy as np

from specsense_jax import portable_math

_NC = 1600  # TS 38.211 §5.2.1 / TS 36.211 §7.2: output is offset by Nc


def _lfsr(init: np.ndarray, taps: tuple[int, ...], length: int) -> np.ndarray:
  """Binary LFSR x(n + deg) = sum_t x(n + t) mod 2, vectorized over leading axes of `init`.

  Args:
    init: (..., deg) initial bits x(0..deg-1).
    taps: offsets t (all < deg) whose sum gives x(n + deg).
    length: number of output bits.

  Returns:
    (..., length) uint8.
  """
  init = np.asarray(init, np.uint8)
  deg = init.shape[-1]
  out = np.zeros(init.shape[:-1] + (max(length, deg),), np.uint8)
  out[..., :deg] = init
  step = deg - max(taps)  # this many new bits depend only on already-known bits
  n = 0
  while n + deg < length:
    m = min(step, length - n - deg)
    acc = np.zeros(init.shape[:-1] + (m,), np.uint8)
    for t in taps:
      acc ^= out[..., n + t:n + t + m]
    out[..., n + deg:n + deg + m] = acc
    n += m
  return out[..., :length]


@functools.lru_cache(maxsize=8)
def _gold_tables(length: int) -> tuple[np.ndarray, np.ndarray]:
  """x1 (fixed) and the 31 basis responses of x2, each `Nc + length` long."""
  total = _NC + length
  x1_init = np.zeros(31, np.uint8)
  x1_init[0] = 1
  x1 = _lfsr(x1_init, (0, 3), total)
  x2_basis = _lfsr(np.eye(31, dtype=np.uint8), (0, 1, 2, 3), total)
  return x1[_NC:], x2_basis[:, _NC:]


def gold_sequence(c_init, length: int) -> np.ndarray:
  """Length-31 Gold sequence c(n) of TS 38.211 §5.2.1 (identical to TS 36.211 §7.2).

  x2 is linear in its initial state, so c(n) for any c_init is x1 xor a GF(2) sum of 31 precomputed basis
  sequences; many initializations are computed in one matrix product.

  Args:
    c_init: int or integer array of initial values (0 <= c_init < 2**31).
    length: number of bits M_PN.

  Returns:
    uint8 bits of shape c_init.shape + (length,).
  """
  c_init = np.asarray(c_init, np.int64)
  if np.any(c_init < 0) or np.any(c_init >= 2**31):
    raise ValueError(f'c_init must be in [0, 2**31), got {c_init}')
  # Table lengths are rounded up to a power of two so the cache is reused across callers.
  x1, x2_basis = _gold_tables(max(1024, 1 << int(np.ceil(np.log2(max(length, 1))))))
  bits = ((c_init[..., None] >> np.arange(31)) & 1).astype(np.float32)
  x2 = (bits @ x2_basis[:, :length].astype(np.float32)).astype(np.int64) & 1
  return (x2.astype(np.uint8) ^ x1[:length]).astype(np.uint8)


def int_to_bits(value: int, width: int) -> list[int]:
  """The `width` bits of `value`, most significant first (as ASN.1 PER and the CRCs order them)."""
  return [(int(value) >> (width - 1 - i)) & 1 for i in range(width)]


def bits_to_int(bits) -> int:
  """The value of bits given most significant first (the inverse of `int_to_bits`)."""
  return int(''.join(str(int(b)) for b in bits), 2)


def crc(bits: np.ndarray, polynomial: int, width: int) -> np.ndarray:
  """The `width` parity bits of TS 36.212 / TS 38.212 §5.1: the remainder of the bits (first bit the highest
  power) times D^width divided by the generator, `polynomial` holding its coefficients below D^width (0x1021
  for gCRC16, 0xB2B117 for gCRC24C); zero initial register."""
  top, mask = 1 << (width - 1), (1 << width) - 1
  register = 0
  for bit in np.asarray(bits).astype(np.int64):
    feedback = bool(register & top) ^ bool(bit)
    register = (register << 1) & mask
    if feedback:
      register ^= polynomial
  return np.array(int_to_bits(register, width), np.uint8)


def qpsk_from_bits(bits: np.ndarray) -> np.ndarray:
  """TS 38.211 §5.1.3 QPSK of bit pairs: (1 - 2b(2i) + j(1 - 2b(2i+1))) / sqrt(2)."""
  bits = np.asarray(bits, np.float32)
  return ((1 - 2 * bits[..., 0::2]) + 1j * (1 - 2 * bits[..., 1::2])).astype(np.complex64) / np.sqrt(2)


MODULATION_ORDERS = {'qpsk': 2, '16qam': 4, '64qam': 6, '256qam': 8}


def qam_from_bits(bits: np.ndarray, modulation: str) -> np.ndarray:
  """Gray-mapped square QAM of TS 38.211 §5.1.3-5.1.6 (and TS 36.211 §7.1).

  I = (1-2b0)(2^(m-1) - (1-2b2)(2^(m-2) - (1-2b4)(...))), Q likewise from the odd bits, normalized to unit
  average power; for QPSK this reduces to `qpsk_from_bits`.

  Args:
    bits: (..., n * bits_per_symbol) bits.
    modulation: one of MODULATION_ORDERS.

  Returns:
    (..., n) complex64 symbols.
  """
  if modulation not in MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(MODULATION_ORDERS)}, got {modulation!r}')
  q = MODULATION_ORDERS[modulation]
  bits = np.asarray(bits, np.float32)
  bits = bits.reshape(bits.shape[:-1] + (-1, q))
  per_axis = q // 2

  def axis_amplitude(axis_bits):  # axis_bits (..., per_axis), b0 first
    amp = np.ones(axis_bits.shape[:-1], np.float32)
    for i in range(per_axis - 1, 0, -1):
      amp = 2.0 ** (per_axis - i) - (1 - 2 * axis_bits[..., i]) * amp
    return (1 - 2 * axis_bits[..., 0]) * amp

  scale = np.sqrt(2 * (4 ** per_axis - 1) / 3)
  symbols = axis_amplitude(bits[..., 0::2]) + 1j * axis_amplitude(bits[..., 1::2])
  return (symbols / scale).astype(np.complex64)


def random_qam(rng: np.random.Generator, shape, modulation: str = 'qpsk') -> np.ndarray:
  """Random data symbols (the PN data of the generators): uniform bits mapped by `qam_from_bits`."""
  shape = tuple(np.atleast_1d(shape))
  bits = rng.integers(0, 2, size=shape[:-1] + (shape[-1] * MODULATION_ORDERS[modulation],), dtype=np.uint8)
  return qam_from_bits(bits, modulation)


# --- NR synchronization signals (TS 38.211 §7.4.2) ---------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _m_sequence(taps: tuple[int, ...], init: tuple[int, ...]) -> np.ndarray:
  return _lfsr(np.array(init, np.uint8), taps, 127)


def nr_pss(n_id2: int) -> np.ndarray:
  """NR PSS d_PSS(n), n = 0..126 (TS 38.211 §7.4.2.2), BPSK as float32."""
  if n_id2 not in (0, 1, 2):
    raise ValueError(f'n_id2 must be 0, 1 or 2, got {n_id2}')
  x = _m_sequence((0, 4), (0, 1, 1, 0, 1, 1, 1))
  m = (np.arange(127) + 43 * n_id2) % 127
  return (1 - 2 * x[m].astype(np.float32))


def nr_sss(ncellid: int) -> np.ndarray:
  """NR SSS d_SSS(n), n = 0..126, for PCI `ncellid` = 3 N_ID1 + N_ID2 (TS 38.211 §7.4.2.3)."""
  if not 0 <= ncellid < 1008:
    raise ValueError(f'ncellid must be in [0, 1007], got {ncellid}')
  n_id1, n_id2 = divmod(ncellid, 3)
  x0 = _m_sequence((0, 4), (1, 0, 0, 0, 0, 0, 0))
  x1 = _m_sequence((0, 1), (1, 0, 0, 0, 0, 0, 0))
  m0 = 15 * (n_id1 // 112) + 5 * n_id2
  m1 = n_id1 % 112
  n = np.arange(127)
  return ((1 - 2 * x0[(n + m0) % 127].astype(np.float32)) * (1 - 2 * x1[(n + m1) % 127].astype(np.float32)))


# --- LTE synchronization signals (TS 36.211 §6.11) ---------------------------------------------------------

_LTE_PSS_ROOTS = (25, 29, 34)


def lte_pss(n_id2: int) -> np.ndarray:
  """LTE PSS: length-63 Zadoff-Chu with the middle element punctured, 62 values (TS 36.211 §6.11.1.1)."""
  if n_id2 not in (0, 1, 2):
    raise ValueError(f'n_id2 must be 0, 1 or 2, got {n_id2}')
  u = _LTE_PSS_ROOTS[n_id2]
  n = np.arange(62, dtype=np.float64)
  k = np.where(n < 31, n * (n + 1), (n + 1) * (n + 2))
  return portable_math.cis(-np.pi * u * k / 63, np.complex64)


def lte_sss(ncellid: int, subframe: int) -> np.ndarray:
  """LTE SSS of subframe 0 or 5: 62 interleaved BPSK values (TS 36.211 §6.11.2.1)."""
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503] for LTE, got {ncellid}')
  if subframe not in (0, 5):
    raise ValueError(f'the SSS is sent in subframes 0 and 5, got {subframe}')
  n_id1, n_id2 = divmod(ncellid, 3)
  q_prime = n_id1 // 30
  q = (n_id1 + q_prime * (q_prime + 1) // 2) // 30
  m_prime = n_id1 + q * (q + 1) // 2
  m0 = m_prime % 31
  m1 = (m0 + m_prime // 31 + 1) % 31
  init = (0, 0, 0, 0, 1)
  s = 1 - 2 * _lfsr(np.array(init, np.uint8), (0, 2), 31).astype(np.float32)
  c = 1 - 2 * _lfsr(np.array(init, np.uint8), (0, 3), 31).astype(np.float32)
  z = 1 - 2 * _lfsr(np.array(init, np.uint8), (0, 1, 2, 4), 31).astype(np.float32)
  n = np.arange(31)
  s0, s1 = s[(n + m0) % 31], s[(n + m1) % 31]
  c0, c1 = c[(n + n_id2) % 31], c[(n + n_id2 + 3) % 31]
  z_m0, z_m1 = z[(n + m0 % 8) % 31], z[(n + m1 % 8) % 31]
  d = np.empty(62, np.float32)
  if subframe == 0:
    d[0::2], d[1::2] = s0 * c0, s1 * c1 * z_m0
  else:
    d[0::2], d[1::2] = s1 * c0, s0 * c1 * z_m1
  return d
