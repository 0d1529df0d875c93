"""FIR filtering and rational resampling evaluated at chosen output samples.

An `Interpolator` holds low-pass taps at `grid` times the input rate; output sample k is

    y[k] = sum_m h[pos[k] + delay - m * grid] * x[m],

where pos[k] is the output's position on that grid (input index · grid) and `delay` centres the filter. Each
output is a fixed sum over its own taps, accumulated in the same order however many outputs are asked for, so
any window of a signal equals the same part of the whole, bit for bit: that is what lets a dataset render only
the samples its spectrogram reads and still match what a whole recording gives. A rational resampler by
up/down is `grid = up` and pos[k] = k·down; a finer grid (`grid = up·Q`) moves outputs by fractions of a
sample, for a sample-clock error.
"""

from __future__ import annotations

import dataclasses
import fractions
import functools

import numpy as np
import scipy.signal


@dataclasses.dataclass(frozen=True, eq=False)
class Interpolator:
  """Low-pass taps at `grid` times the input rate (their sum is `grid`: unit gain at DC)."""
  taps: np.ndarray
  grid: int

  @property
  def delay(self) -> int:
    return (len(self.taps) - 1) // 2

  @functools.cached_property
  def _table(self) -> tuple[np.ndarray, int]:
    # Zeros in front so that a term's tap index is never negative; float32 (or complex64) taps keep complex64
    # products.
    count = -(-len(self.taps) // self.grid) + 1
    dtype = np.complex64 if np.iscomplexobj(self.taps) else np.float32
    return np.concatenate([np.zeros(count * self.grid, dtype), self.taps.astype(dtype)]), count

  def input_spans(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last + 1) input indices each row of (R, L) output `positions` reads, as two (R,) arrays."""
    positions = np.asarray(positions, np.int64)
    first = -((len(self.taps) - 1 - self.delay - positions.min(axis=1)) // self.grid)
    return first, (positions.max(axis=1) + self.delay) // self.grid + 1

  def at(self, x: np.ndarray, x_start: int, positions: np.ndarray) -> np.ndarray:
    """complex64 outputs at grid `positions`, from input samples x[i] = input index x_start + i (zero outside).

    Args:
      x: input samples; must cover `input_spans(positions)` where the input is non-zero.
      x_start: input index of x[0].
      positions: int64 output positions on the grid (input index · grid).
    """
    positions = np.asarray(positions, np.int64)
    table, count = self._table
    num = positions + self.delay
    first = -((len(self.taps) - 1 - num) // self.grid)  # ceil((num - L + 1) / grid): the first input read
    phase = num - first * self.grid + count * self.grid
    padded = np.concatenate([np.zeros(count, np.complex64), np.asarray(x, np.complex64),
                             np.zeros(count, np.complex64)])
    index = np.clip(first - x_start + count, 0, len(padded) - count)
    if np.iscomplexobj(table):  # in real arithmetic: numpy's complex product differs between CPUs
      return self._complex_at(table, count, padded, phase, index)
    out = np.zeros(positions.shape, np.complex64)
    coefficient = np.empty(positions.shape, table.dtype)
    sample = np.empty(positions.shape, np.complex64)
    for _ in range(count):  # one tap per output at a time: the same order for every output
      np.take(table, phase, out=coefficient)
      np.take(padded, index, out=sample)
      out += np.multiply(coefficient, sample, out=sample)  # a real tap: each part rounded once
      phase -= self.grid
      index += 1
    return out

  def _complex_at(self, table, count, padded, phase, index) -> np.ndarray:
    table_re, table_im = np.ascontiguousarray(table.real), np.ascontiguousarray(table.imag)
    x_re, x_im = np.ascontiguousarray(padded.real), np.ascontiguousarray(padded.imag)
    out_re, out_im = np.zeros(phase.shape, np.float32), np.zeros(phase.shape, np.float32)
    c_re, c_im, s_re, s_im, term = (np.empty(phase.shape, np.float32) for _ in range(5))
    for _ in range(count):  # (c_re s_re - c_im s_im) + j (c_re s_im + c_im s_re), each operation rounded once
      np.take(table_re, phase, out=c_re)
      np.take(table_im, phase, out=c_im)
      np.take(x_re, index, out=s_re)
      np.take(x_im, index, out=s_im)
      out_re += np.multiply(c_re, s_re, out=term)
      out_re -= np.multiply(c_im, s_im, out=term)
      out_im += np.multiply(c_re, s_im, out=term)
      out_im += np.multiply(c_im, s_re, out=term)
      phase -= self.grid
      index += 1
    out = np.empty(phase.shape, np.complex64)
    out.real, out.imag = out_re, out_im
    return out


def cascade(first: Interpolator, then: Interpolator) -> Interpolator:
  """One filter equal to `first` (at the input rate: grid 1) followed by `then`, on `then`'s grid."""
  if first.grid != 1:
    raise ValueError(f'cascade: the first filter must run at the input rate (grid 1), got grid {first.grid}')
  grid = then.grid
  taps = np.zeros(len(then.taps) + (len(first.taps) - 1) * grid, np.result_type(first.taps, then.taps))
  for j, tap in enumerate(first.taps):  # `first` upsampled to `then`'s grid, convolved with it
    taps[j * grid:j * grid + len(then.taps)] += tap * then.taps
  taps.flags.writeable = False
  return Interpolator(taps, grid)


def kaiser_lowpass(grid: int, cutoff: float, transition: float, stopband_db: float) -> Interpolator:
  """A Kaiser-window low-pass at `grid` times the input rate.

  Args:
    grid: taps per input sample.
    cutoff: -6 dB frequency in units of the input rate.
    transition: transition width in units of the input rate.
    stopband_db: stopband attenuation.
  """
  return _kaiser(int(grid), float(cutoff), float(transition), float(stopband_db))


@functools.lru_cache(maxsize=64)
def _kaiser(grid: int, cutoff: float, transition: float, stopband_db: float) -> Interpolator:
  nyquist = grid / 2  # of the grid rate, in input-rate units
  numtaps, beta = scipy.signal.kaiserord(stopband_db, transition / nyquist)
  numtaps |= 1  # odd: an integer delay
  taps = scipy.signal.firwin(numtaps, cutoff / nyquist, window=('kaiser', beta)) * grid
  taps.flags.writeable = False
  return Interpolator(taps, grid)


def rate_ratio(out_rate: float, in_rate: float, max_term: int | None = 1000) -> fractions.Fraction:
  """out_rate / in_rate as a fraction (exactly 1 within 1 ppm); ValueError unless its terms are below `max_term`
  (None: any)."""
  if abs(out_rate - in_rate) < 1e-6 * in_rate:
    return fractions.Fraction(1)
  ratio = (fractions.Fraction(out_rate).limit_denominator(10**6)
           / fractions.Fraction(in_rate).limit_denominator(10**6))
  if max_term is not None and (ratio.numerator >= max_term or ratio.denominator >= max_term):
    raise ValueError(f'rate {out_rate:g} over {in_rate:g} is not a ratio of integers below {max_term}')
  return ratio


def resampler(ratio: fractions.Fraction, passband: float = 0.96, stopband_db: float = 60.0) -> Interpolator:
  """The low-pass of a rational resampler by `ratio` (out/in rate), on the grid `ratio.numerator`: flat over
  `passband` of the lower of the two rates, `stopband_db` down from (2 - passband) of its Nyquist frequency, so
  images and aliases fall outside the passband."""
  low = min(1.0, float(ratio))  # the lower rate in units of the input rate
  return kaiser_lowpass(ratio.numerator, 0.5 * low, (1 - passband) * low, stopband_db)
