"""The `Waveform` container, grid-to-samples synthesis at any rate, and occupancy extraction."""

from __future__ import annotations

import dataclasses
import fractions
import math
from typing import Any, Callable

import numpy as np
import scipy.signal

from specsense_jax.signals import ofdm


@dataclasses.dataclass
class Waveform:
  """A clean baseband waveform (no channel, no noise), centred at 0 Hz.

  Attributes:
    iq: 1-D complex64 samples.
    sample_rate: samples per second.
    bandwidth_hz: nominal channel bandwidth (what `band` labels cover).
    label: the class name ('NR', 'LTE', 'WLAN', 'Radar', 'Unknown').
    occupancy: (K, 4) float64 rows [sample_start, sample_count, freq_lower_edge, freq_upper_edge] of the
      time-frequency cells whose resource elements carry energy (Hz relative to the waveform centre).
    ssb_offset_hz: NR only: SS/PBCH block centre relative to the carrier centre.
    ssb_starts: NR only: first sample of each transmitted SS/PBCH block.
    params: the generator's parameters and random draws.
    annotations: bursty signals (WLAN, radar): one SigMF-shaped dict per packet or pulse, `sample_start`,
      `sample_count`, `freq_lower_edge`/`freq_upper_edge` (Hz relative to the centre), `label`, and the draws
      under `specsense:` keys.
  """
  iq: np.ndarray
  sample_rate: float
  bandwidth_hz: float
  label: str
  occupancy: np.ndarray
  ssb_offset_hz: float | None = None
  ssb_starts: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
  params: dict[str, Any] = dataclasses.field(default_factory=dict)
  annotations: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class GridSource:
  """A signal described by its resource grid, built row by row on demand.

  `rows(symbol_indices)` returns those rows of the grid, so the same signal can be rendered whole
  (`waveform`) or only at the samples a spectrogram needs (`render`), with identical values.

  Attributes:
    label: 'NR' or 'LTE'.
    bandwidth_hz: nominal channel bandwidth.
    num_subcarriers: grid width.
    num_symbols: grid height (whole subframes covering the duration).
    numerology_at: sample rate -> `ofdm.Numerology` (ValueError where not integral).
    rows: (symbol indices, values=True) -> (len, num_subcarriers) complex64 rows, or with values=False a
      bool map of the REs that carry energy (cheaper: no data symbols are drawn).
    params: generator parameters and random draws.
    ssb_symbols: first symbol of each transmitted SS/PBCH block (NR).
    ssb_subcarrier: grid subcarrier of the SS/PBCH block centre (NR).
    port_rows: one row builder per antenna port (same signature as `rows`), for multi-port sources whose ports
      go through their own channels; `rows` is their sum. Empty for single-port sources. A builder with a
      `symbol_power` method gives its port's expected power per symbol (as `symbol_power` below).
    symbol_power: None, or () -> (num_symbols,) float64 expected mean power per OFDM symbol: the sum over
      subcarriers of E|x|^2 over num_subcarriers (random QAM counts as unit power times its amplitude squared),
      computed from the generator's tables without building the grid.
  """
  label: str
  bandwidth_hz: float
  num_subcarriers: int
  num_symbols: int
  numerology_at: Callable[[float], ofdm.Numerology]
  rows: Callable[[np.ndarray], np.ndarray]
  params: dict[str, Any]
  ssb_symbols: tuple[int, ...] = ()
  ssb_subcarrier: int | None = None
  port_rows: tuple = ()
  symbol_power: Callable[[], np.ndarray] | None = None

  def grid(self) -> np.ndarray:
    return self.rows(np.arange(self.num_symbols))

  def activity(self) -> np.ndarray:
    """(num_symbols, num_subcarriers) bool: the REs that carry energy (on any antenna port)."""
    symbols = np.arange(self.num_symbols)
    if self.port_rows:
      return np.logical_or.reduce([rows(symbols, values=False) for rows in self.port_rows])
    return self.rows(symbols, values=False)

  def waveform(self, sample_rate: float, num_samples: int) -> Waveform:
    """The whole waveform, with occupancy cells and SS/PBCH block positions."""
    grid = self.grid()
    iq, numerology, ratio = grid_to_samples(grid, self.numerology_at, sample_rate, num_samples)
    starts = numerology.symbol_starts(self.num_symbols)
    ssb_starts = np.array([int(np.floor(starts[l] * float(ratio))) for l in self.ssb_symbols], np.int64)
    return Waveform(
        iq=iq, sample_rate=sample_rate, bandwidth_hz=self.bandwidth_hz, label=self.label,
        occupancy=occupancy_cells(grid, numerology, ratio, num_samples),
        ssb_offset_hz=self.ssb_offset_hz(numerology) if self.ssb_subcarrier is not None else None,
        ssb_starts=ssb_starts[ssb_starts < num_samples], params=self.params)

  def ssb_offset_hz(self, numerology: ofdm.Numerology) -> float:
    return float(ofdm.subcarrier_frequency(self.ssb_subcarrier, self.num_subcarriers, numerology))

  def render(self, sample_rate: float, num_samples: int, indices: np.ndarray) -> np.ndarray:
    """Samples at `indices` (0 outside [0, num_samples)); only the symbols they touch are built."""
    indices = np.asarray(indices, np.int64)
    try:
      numerology = self.numerology_at(sample_rate)
    except ValueError:  # needs resampling: render the whole waveform
      iq = self.waveform(sample_rate, num_samples).iq
      inside = (indices >= 0) & (indices < num_samples)
      return np.where(inside, iq[np.clip(indices, 0, num_samples - 1)], 0).astype(np.complex64)
    inside = np.where(indices < num_samples, indices, -1)
    return ofdm.render_at(self.rows, numerology, self.num_symbols, inside)


def seed_sequence(seed) -> np.random.SeedSequence:
  """A SeedSequence from an int, a sequence of ints or a SeedSequence (every draw derives from one)."""
  if isinstance(seed, np.random.SeedSequence):
    return seed
  if isinstance(seed, (tuple, list)):
    seed = [int(v) for v in seed]
  elif isinstance(seed, (int, np.integer)):
    seed = int(seed)
  else:
    raise ValueError(f'seed must be an int, a sequence of ints or a numpy SeedSequence, got {seed!r}')
  if np.any(np.asarray(seed) < 0):
    raise ValueError(f'seed must be non-negative, got {seed!r}')
  return np.random.SeedSequence(seed)


def check_int(name: str, value, ok: Callable[[int], bool], what: str) -> int:
  """int(value) if it is an int (not a bool) for which ok(value) holds, else ValueError naming the parameter and
  `what` is allowed."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not ok(value):
    raise ValueError(f'{name} must be {what}, got {value!r}')
  return int(value)


def check_positive(name: str, value, allow_zero: bool = False) -> float:
  """Returns float(value) or raises ValueError naming the parameter."""
  try:
    v = float(value)
  except (TypeError, ValueError):
    raise ValueError(f'{name} must be a number, got {value!r}') from None
  if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
    raise ValueError(f'{name} must be a finite {"non-negative" if allow_zero else "positive"} number, '
                     f'got {value!r}')
  return v


def check_range(name: str, value, low: float, high: float) -> tuple[float, float]:
  """Validates a (min, max) range inside [low, high]."""
  try:
    lo, hi = (float(v) for v in value)
  except (TypeError, ValueError):
    raise ValueError(f'{name} must be a (min, max) pair, got {value!r}') from None
  if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi or lo < low or hi > high:
    raise ValueError(f'{name} must satisfy {low:g} <= min <= max <= {high:g}, got {value!r}')
  return lo, hi


def synthesis_numerology(numerology_at: Callable[[float], ofdm.Numerology], sample_rate: float,
                         num_subcarriers: int) -> tuple[ofdm.Numerology, fractions.Fraction]:
  """The OFDM layout a grid is modulated with for output at `sample_rate`, and the resampling ratio.

  Directly at `sample_rate` when the numerology is integral there; otherwise at the smallest rate
  1.92 MHz·2^k whose FFT holds the grid with margin, followed by resampling (ratio target / native).
  """
  try:
    numerology = numerology_at(sample_rate)
    ofdm.subcarrier_bins(num_subcarriers, numerology)
    return numerology, fractions.Fraction(1)
  except ValueError:
    pass
  for k in range(12):
    try:
      numerology = numerology_at(1.92e6 * 2**k)
    except ValueError:
      continue
    if numerology.fft_size >= 1.25 * num_subcarriers:
      ratio = fractions.Fraction(sample_rate).limit_denominator(10**6) / fractions.Fraction(
          numerology.sample_rate).limit_denominator(10**6)
      return numerology, ratio
  raise ValueError(f'no OFDM sample rate found for {num_subcarriers} subcarriers')


def grid_to_samples(grid: np.ndarray, numerology_at: Callable[[float], ofdm.Numerology], sample_rate: float,
                    num_samples: int) -> tuple[np.ndarray, ofdm.Numerology, fractions.Fraction]:
  """OFDM-modulates `grid` for output at `sample_rate` (see `synthesis_numerology`).

  Returns:
    (iq of `num_samples` complex64 samples, numerology used, rate ratio target/native).
  """
  numerology, ratio = synthesis_numerology(numerology_at, sample_rate, grid.shape[1])
  iq = ofdm.modulate(grid, numerology)
  if ratio != 1:
    iq = scipy.signal.resample_poly(iq, ratio.numerator, ratio.denominator).astype(np.complex64)
  if len(iq) < num_samples:
    raise ValueError(f'synthesized waveform has {len(iq)} samples, {num_samples} requested')
  return iq[:num_samples], numerology, ratio


def occupancy_cells(grid: np.ndarray, numerology: ofdm.Numerology, ratio: fractions.Fraction,
                    num_samples: int, unit: int = 12) -> np.ndarray:
  """Time-frequency rectangles where `grid` carries energy, at symbol × `unit`-subcarrier resolution.

  Runs of active units are found per symbol, and consecutive symbols with identical runs are merged.

  Returns:
    (K, 4) float64 [sample_start, sample_count, freq_lower_edge, freq_upper_edge] at the output rate.
  """
  num_symbols, num_sc = grid.shape
  if not num_symbols:
    return np.zeros((0, 4))
  units = -(-num_sc // unit)
  padded = np.zeros((num_symbols, units * unit), bool)
  padded[:, :num_sc] = grid != 0
  active = padded.reshape(num_symbols, units, unit).any(axis=2)
  starts = numerology.symbol_starts(num_symbols)
  lengths = numerology.cp_of(num_symbols) + numerology.fft_size
  # Groups of consecutive symbols with the same active units; each run of units of a group's first symbol is
  # one cell spanning the group.
  first = np.flatnonzero(np.concatenate([[True], np.any(active[1:] != active[:-1], axis=1)]))
  edges = np.diff(np.pad(active[first].astype(np.int8), ((0, 0), (1, 1))), axis=1)
  group, lo = np.nonzero(edges == 1)
  hi = np.nonzero(edges == -1)[1]
  if not len(group):
    return np.zeros((0, 4))
  span = np.add.reduceat(lengths, first)
  c = np.stack([starts[first][group], span[group], lo, hi], axis=1).astype(np.float64)
  f_lo = ofdm.subcarrier_frequency(c[:, 2] * unit, num_sc, numerology) - numerology.scs_hz / 2
  f_hi = ofdm.subcarrier_frequency(np.minimum(c[:, 3] * unit, num_sc) - 1, num_sc, numerology) \
      + numerology.scs_hz / 2
  s0 = np.floor(c[:, 0] * float(ratio))
  s1 = np.minimum(np.ceil((c[:, 0] + c[:, 1]) * float(ratio)), num_samples)
  keep = s1 > s0
  return np.stack([s0, s1 - s0, f_lo, f_hi], axis=1)[keep]
