"""OFDM numerology and (de)modulation of resource grids at any compatible sample rate.

Synthesizing directly at the target rate (FFT size = sample_rate / SCS) is the same as ideal band-limited
interpolation of the native-rate waveform, and cheaper than generating at a low rate and resampling.
"""

from __future__ import annotations

import dataclasses
import fractions

import numpy as np
import scipy.fft

# TS 38.211 §4.1: T_c = 1 / (480e3 * 4096) s; kappa = 64.
_TC_RATE = 480e3 * 4096
_KAPPA = 64


@dataclasses.dataclass(frozen=True)
class Numerology:
  """Sample-level OFDM layout of one subframe (1 ms).

  Attributes:
    sample_rate: samples per second.
    scs_hz: subcarrier spacing.
    fft_size: samples per useful symbol.
    cp_lengths: CP length of each symbol of a subframe.
    skip_dc: LTE leaves the DC subcarrier unused; NR does not.
  """
  sample_rate: float
  scs_hz: float
  fft_size: int
  cp_lengths: tuple[int, ...]
  skip_dc: bool = False

  @property
  def symbols_per_subframe(self) -> int:
    return len(self.cp_lengths)

  @property
  def samples_per_subframe(self) -> int:
    return sum(self.cp_lengths) + self.fft_size * self.symbols_per_subframe

  def symbol_starts(self, num_symbols: int) -> np.ndarray:
    """Sample index where each symbol (its CP) starts, for `num_symbols` consecutive symbols."""
    per_symbol = np.tile(np.asarray(self.cp_lengths) + self.fft_size,
                         -(-num_symbols // self.symbols_per_subframe))[:num_symbols]
    return np.concatenate([[0], np.cumsum(per_symbol)[:-1]]).astype(np.int64)

  def cp_of(self, num_symbols: int) -> np.ndarray:
    return np.tile(np.asarray(self.cp_lengths), -(-num_symbols // self.symbols_per_subframe))[:num_symbols]


def _exact_samples(value_in_tc: float, sample_rate: float, what: str) -> int:
  samples = fractions.Fraction(int(value_in_tc)) * fractions.Fraction(sample_rate).limit_denominator(10**6) \
      / int(_TC_RATE)
  if samples.denominator != 1:
    raise ValueError(f'sample_rate {sample_rate:g} Hz does not give an integer {what} ({float(samples):g} '
                     'samples); use a multiple of 1.92 MHz (e.g. 30.72e6 or 61.44e6)')
  return int(samples)


def nr_numerology(scs_khz: int, sample_rate: float) -> Numerology:
  """NR normal-CP numerology (TS 38.211 §5.3.1) at `sample_rate`.

  N_CP = 144·κ·2^-μ T_c, plus 16·κ T_c on symbols l = 0 and 7·2^μ of each subframe; N_u = 2048·κ·2^-μ T_c.
  """
  if scs_khz not in (15, 30, 60, 120):
    raise ValueError(f'scs_khz must be one of 15, 30, 60, 120, got {scs_khz}')
  mu = {15: 0, 30: 1, 60: 2, 120: 3}[scs_khz]
  fft_size = _exact_samples(2048 * _KAPPA / 2**mu, sample_rate, 'FFT size')
  short = _exact_samples(144 * _KAPPA / 2**mu, sample_rate, 'cyclic prefix')
  long = short + _exact_samples(16 * _KAPPA, sample_rate, 'long cyclic prefix')
  per_subframe = 14 * 2**mu
  cps = tuple(long if l % (7 * 2**mu) == 0 else short for l in range(per_subframe))
  return Numerology(sample_rate, scs_khz * 1e3, fft_size, cps, skip_dc=False)


def lte_numerology(sample_rate: float) -> Numerology:
  """LTE normal-CP numerology (TS 36.211 §6.12): CP 160/144 and FFT 2048 at 30.72 MHz, scaled to the rate."""
  fft_size = _exact_samples(2048 * _KAPPA, sample_rate, 'FFT size')  # T_s = 64 T_c
  long = _exact_samples(160 * _KAPPA, sample_rate, 'cyclic prefix')
  short = _exact_samples(144 * _KAPPA, sample_rate, 'cyclic prefix')
  cps = tuple(long if l % 7 == 0 else short for l in range(14))
  return Numerology(sample_rate, 15e3, fft_size, cps, skip_dc=True)


def subcarrier_bins(num_subcarriers: int, numerology: Numerology) -> np.ndarray:
  """FFT bin of each grid subcarrier; the grid is centred on DC (TS 38.211 §5.4, TS 36.211 §6.12).

  NR: subcarrier k sits at (k - N/2)·SCS. LTE: the lower half sits below DC and the upper half above it,
  with the DC subcarrier unused.
  """
  if num_subcarriers > numerology.fft_size - int(numerology.skip_dc):
    raise ValueError(f'{num_subcarriers} subcarriers do not fit in FFT size {numerology.fft_size} at '
                     f'{numerology.sample_rate / 1e6:g} MHz')
  k = np.arange(num_subcarriers) - num_subcarriers // 2
  if numerology.skip_dc:
    k = np.where(k >= 0, k + 1, k)
  return k % numerology.fft_size


def _spectrum(grid: np.ndarray, numerology: Numerology) -> np.ndarray:
  """complex64 (rows, fft_size): the grid's rows in their FFT bins (`subcarrier_bins`: two contiguous runs)."""
  rows, num_subcarriers = grid.shape
  subcarrier_bins(num_subcarriers, numerology)  # checks that the grid fits
  n, below = numerology.fft_size, num_subcarriers // 2
  first_above = int(numerology.skip_dc)
  spectrum = np.zeros((rows, n), np.complex64)
  spectrum[:, n - below:] = grid[:, :below]
  spectrum[:, first_above:first_above + num_subcarriers - below] = grid[:, below:]
  return spectrum


def subcarrier_frequency(k, num_subcarriers: int, numerology: Numerology) -> np.ndarray:
  """Baseband frequency (Hz) of grid subcarrier(s) k."""
  k = np.asarray(k) - num_subcarriers // 2
  if numerology.skip_dc:
    k = np.where(k >= 0, k + 1, k)
  return k * numerology.scs_hz


def modulate(grid: np.ndarray, numerology: Numerology) -> np.ndarray:
  """OFDM-modulates a (symbols, subcarriers) grid into complex64 samples with cyclic prefixes.

  Scaled so that a fully loaded grid of unit-power resource elements has unit mean sample power.
  """
  num_symbols, num_subcarriers = grid.shape
  n = numerology.fft_size
  spectrum = _spectrum(grid, numerology)
  symbols = scipy.fft.ifft(spectrum, axis=1, norm='forward', overwrite_x=True, workers=1)
  symbols *= np.float32(1 / np.sqrt(num_subcarriers))
  starts = numerology.symbol_starts(num_symbols)
  cps = numerology.cp_of(num_symbols)
  out = np.empty(int(starts[-1] + cps[-1] + n), np.complex64)
  for cp in np.unique(cps):  # two CP lengths: one vectorized copy each
    rows = np.flatnonzero(cps == cp)
    block = np.concatenate([symbols[rows, n - cp:], symbols[rows]], axis=1)
    out[starts[rows, None] + np.arange(cp + n)] = block
  return out


def render_at(rows, numerology: Numerology, num_symbols: int, indices: np.ndarray) -> np.ndarray:
  """Samples of the OFDM signal `modulate` would make, at the given sample indices only.

  Only the symbols those samples fall in are built (`rows(symbol_indices)` returns their grid rows) and
  transformed, so a few hundred scattered windows of a 40 ms frame cost a fraction of the whole frame.

  Args:
    rows: callable mapping an int array of symbol indices to their (len, subcarriers) grid rows.
    numerology: the OFDM layout.
    num_symbols: symbols in the whole signal.
    indices: int sample indices; those outside [0, signal length) give 0.

  Returns:
    complex64 samples, shaped like `indices`.
  """
  indices = np.asarray(indices, np.int64)
  starts = numerology.symbol_starts(num_symbols)
  cps = numerology.cp_of(num_symbols)
  n = numerology.fft_size
  total = starts[-1] + cps[-1] + n
  valid = (indices >= 0) & (indices < total)
  every = bool(valid.all())
  inner = indices if every else indices[valid]
  symbol = np.searchsorted(starts, inner, side='right') - 1
  present = np.zeros(num_symbols, bool)
  present[symbol] = True
  needed = np.flatnonzero(present)
  which = (np.cumsum(present) - 1)[symbol]
  out = np.zeros(indices.shape, np.complex64)
  if len(needed) == 0:
    return out
  grid = rows(needed)
  spectrum = _spectrum(grid, numerology)
  symbols = scipy.fft.ifft(spectrum, axis=1, norm='forward', overwrite_x=True, workers=1)
  symbols *= np.float32(1 / np.sqrt(grid.shape[1]))
  position = (inner - starts[symbol] - cps[symbol]) % n
  if every:
    return symbols[which, position]
  out[valid] = symbols[which, position]
  return out


def demodulate(iq: np.ndarray, numerology: Numerology, num_subcarriers: int, num_symbols: int,
               first_symbol: int = 0, offset: int = 0) -> np.ndarray:
  """Inverse of `modulate` for time-aligned input.

  Args:
    iq: samples whose symbol 0 (its CP) starts at `offset`.
    numerology: the OFDM layout.
    num_subcarriers: grid width.
    num_symbols: symbols to return.
    first_symbol: index of the first symbol returned (CP lengths depend on the position in the subframe).
    offset: sample index of symbol 0.

  Returns:
    The (num_symbols, num_subcarriers) grid.
  """
  n = numerology.fft_size
  last = first_symbol + num_symbols
  starts = offset + (numerology.symbol_starts(last) + numerology.cp_of(last))[first_symbol:]
  if starts[-1] + n > len(iq):
    raise ValueError(f'symbols {first_symbol}..{last - 1} from sample {offset} need {starts[-1] + n} '
                     f'samples, got {len(iq)}')
  blocks = np.asarray(iq)[starts[:, None] + np.arange(n)]
  spectrum = scipy.fft.fft(blocks, axis=1, norm='forward') * np.sqrt(num_subcarriers)
  return spectrum[:, subcarrier_bins(num_subcarriers, numerology)].astype(np.complex64)
