"""The TDD pattern of an NR cell in a recording, from the energy of its OFDM symbols (the receive side of
`nr_tdd`).

A downlink recording shows where the gNB transmits: the downlink slots and the downlink symbols of the special
slot. Folded on the right period, every symbol that ever carries energy lies in one prefix of the period (the
downlink part of tdd-UL-DL-ConfigurationCommon, TS 38.213 §11.1) and the rest of the period is silent in every
period seen; a period too short mixes downlink into the silent part, a multiple of the right one leaves less of
it silent. So the estimate is the periodicity (TS 38.331 dl-UL-TransmissionPeriodicity and its v1530 3/4 ms,
one pattern or two whose period divides a frame) whose silent tails hold the largest share of its symbols; on a
tie, one pattern before two, then the shorter period.

What energy cannot tell: guard from uplink symbols (both silent downlink), an idle downlink symbol from an uplink
one (an idle cell sends little, so its pattern is read as shorter than it is: `fill` says how much of the
estimated downlink part carried energy), and uplink energy of nearby UEs, which reads as downlink.
"""

from __future__ import annotations

import dataclasses
import fractions

import numpy as np

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import power_profile

_SYMBOLS = nr_tdd.SYMBOLS_PER_SLOT
# On/off: the noise power is read from the 10th percentile of the symbol powers (a TDD period leaves at least a
# guard and an uplink slot silent), and a symbol is on when it is this many standard deviations of a noise
# symbol's power (1/sqrt(samples) of its mean) above it: weak enough for an idle cell's SS/PBCH blocks and
# CORESET0, rare enough in noise that no silent tail is broken by chance.
_ON_SIGMAS = 8.0
_P10_SIGMAS = 1.28  # the 10th percentile of a normal variable, in standard deviations below its mean
# The silent part is noise: the downlink symbols that carry energy are at least 3 dB above it (at 5 dB SNR a
# loaded TDD cell's are 9 dB above; a fully loaded FDD carrier's PDCCH symbols 2.2 dB above its PDSCH ones).
_MIN_CONTRAST = 2.0
# Below this share of its downlink symbols carrying energy (an idle cell) a pattern is not to be trusted: generated
# idle cells read 0.05-0.28 with wrong patterns, light to full loads 0.65-1.00 with the right one.
MIN_FILL = 0.5
_MIN_PERIODS = 2  # a period must be seen whole at least this often


@dataclasses.dataclass(frozen=True)
class TddEstimate:
  """A TDD pattern read from symbol energy.

  Attributes:
    config: the pattern(s); each period's silent part is given as flexible symbols and uplink slots (the
      recording cannot tell guard from uplink symbols, so nrof_uplink_symbols is 0).
    slots: one period as 'D'/'S'/'U' slots (`nr_tdd.slot_string`), e.g. 'DDDSU'.
    scs_khz: the slot numerology the pattern is read at.
    periods: whole periods seen.
    fill: share of the estimated downlink symbols, over every whole period seen, that carried energy, 0..1: near
      1 for a loaded cell; an idle cell leaves most of its downlink empty, and the pattern read from it is only
      what its few symbols allow (below MIN_FILL, not to be trusted).
  """
  config: nr_tdd.TddConfig
  slots: str
  scs_khz: int
  periods: int
  fill: float


def frame_start(pss_start: int, ssb_index: int, half_frame: int, *, scs_khz: int, case: str,
                sample_rate: float) -> int:
  """The sample (may be negative) where the radio frame holding an SS/PBCH block starts, from its PSS.

  Args:
    pss_start: sample where the useful part of the block's PSS symbol starts (`nr_mib.DecodedSsb.pss_start`).
    ssb_index: the block's candidate index.
    half_frame: the half frame it is in (the PBCH timing bit).
    scs_khz: the block's subcarrier spacing.
    case: its pattern of TS 38.213 §4.1 ('A', 'B' or 'C').
    sample_rate: samples per second (any rate; the symbol lengths are scaled to it).
  """
  symbol = int(nr.ssb_first_symbols(case, 8)[ssb_index])
  grid = 1.92e6 * (scs_khz // 15)  # the numerology is whole there; the position is scaled to the recording
  numerology = ofdm.nr_numerology(scs_khz, grid)
  useful = numerology.symbol_starts(symbol + 1)[symbol] + numerology.cp_of(symbol + 1)[symbol]
  return int(round(pss_start - (useful + half_frame * 5 * numerology.samples_per_subframe) * sample_rate / grid))


def cell_frame_start(cell, sample_rate: float) -> int:
  """`frame_start` of an `nr_scan.NrCell`, its SSB case from the band's synchronization raster."""
  case = next(e.case for e in nr_raster.get_band(cell.band).ss_raster if e.scs_khz == cell.scs_khz)
  return frame_start(cell.ssb.pss_start, cell.ssb.ssb_index, cell.ssb.mib.half_frame, scs_khz=cell.scs_khz,
                     case=case, sample_rate=sample_rate)


def symbol_energy(iq: np.ndarray, sample_rate: float, *, frame_start: int, scs_khz: int,
                  band_hz: tuple[float, float] | None = None) -> tuple[np.ndarray, int, int]:
  """Power of the useful part of every whole OFDM symbol in the band, the slot number of the first one, and the
  samples each power is the mean of.

  Args:
    iq: complex samples.
    sample_rate: samples per second.
    frame_start: a sample where a radio frame starts (`frame_start`; negative when before the recording).
    scs_khz: the numerology of the symbols.
    band_hz: (low, high) Hz from the capture centre; default the whole recording.

  Returns:
    ((slots, 14) power per symbol, the slot number within its frame of the first row, samples per symbol: the
    band cut at a rate of at least its width, so that noise samples are about independent).
  """
  iq = np.asarray(iq, np.complex64)
  whole_ms = int(len(iq) / sample_rate * 1e3)
  if whole_ms < 1:
    raise ValueError(f'iq must hold at least 1 ms, got {len(iq) / sample_rate * 1e3:.3f} ms')
  low, high = band_hz if band_hz is not None else (-sample_rate / 2, sample_rate / 2)
  # NR symbols are whole samples at 3.84 MHz multiples: the band's, but no wider than the recording (a wider cut
  # would wrap around its spectrum and count bins twice)
  rate = min(3.84e6 * np.ceil((high - low) / 3.84e6 - 1e-9), 3.84e6 * np.floor(sample_rate / 3.84e6 + 1e-9))
  if rate <= 0:
    raise ValueError(f'sample_rate={sample_rate:g}: below 3.84 MHz there is no whole-sample NR symbol grid')
  x = channel.SpectrumCut(iq, sample_rate, int(round(whole_ms * sample_rate / 1e3))).cut((low + high) / 2, rate)
  numerology = ofdm.nr_numerology(scs_khz, rate)
  per_subframe = numerology.samples_per_subframe
  start = int(round(frame_start * rate / sample_rate))
  offset = start % per_subframe  # the first subframe boundary in the recording
  if len(x) - offset < per_subframe:
    raise ValueError(f'iq must hold a whole subframe after a subframe boundary, got '
                     f'{len(iq) / sample_rate * 1e3:.3f} ms')
  powers = power_profile.symbol_powers(x, numerology, start=offset)  # (subframes, 14 * slots per subframe)
  first_subframe = (offset - start) // per_subframe % 10
  return powers.reshape(-1, _SYMBOLS), int(first_subframe) * (scs_khz // 15), numerology.fft_size


def _prefix(on: np.ndarray, seen: np.ndarray) -> tuple[int, int] | None:
  """(downlink symbols, silent symbols) of one folded pattern period, or None unless its silent tail was seen."""
  ever = np.flatnonzero(on)
  end = int(ever[-1]) + 1 if ever.size else 0
  if not seen[end:].all():
    return None
  return end, len(on) - end


def _pattern(period_slots: int, downlink: int, scs_khz: int) -> nr_tdd.TddPattern:
  slots, symbols = divmod(downlink, _SYMBOLS)
  ms = float(fractions.Fraction(period_slots, scs_khz // 15))
  uplink_slots = period_slots - slots - (1 if symbols else 0)
  return nr_tdd.TddPattern(ms, slots, symbols, uplink_slots, 0)


def estimate_tdd(iq: np.ndarray, sample_rate: float, *, frame_start: int, scs_khz: int,
                 band_hz: tuple[float, float] | None = None) -> TddEstimate | None:
  """The TDD pattern of a cell from its symbols' energy (see the module docstring).

  Args:
    iq: complex samples of a downlink recording.
    sample_rate: samples per second.
    frame_start: a sample where a radio frame starts (`frame_start` / `cell_frame_start`).
    scs_khz: the carrier's subcarrier spacing (the pattern's reference numerology).
    band_hz: the carrier's band (low, high) Hz from the capture centre; default the whole recording.

  Returns:
    The estimate, or None when no symbol stands out of the noise, no silent part repeats in every one of at
    least two periods, or the silent part is within 3 dB of the downlink symbols (FDD, a loaded carrier).
  """
  energy, first_slot, samples = symbol_energy(iq, sample_rate, frame_start=frame_start, scs_khz=scs_khz,
                                              band_hz=band_hz)
  flat = energy.reshape(-1)
  sigma = 1 / np.sqrt(samples)
  noise = np.percentile(flat, 10) / (1 - _P10_SIGMAS * sigma)
  on = flat > noise * (1 + _ON_SIGMAS * sigma)
  if not on.any():
    return None
  position = (first_slot * _SYMBOLS + np.arange(len(flat)))  # symbol number counted from a frame start
  best = None
  allowed = sorted(nr_tdd.period_slots(scs_khz).values())
  # One pattern, or pattern1 + pattern2, whose whole period divides a frame: `frame_start` may be an odd frame's,
  # and a period that does not divide 10 ms would not start there (TS 38.213 §11.1 starts it every 20 ms).
  splits = {}
  for a in allowed:
    for b in [0] + allowed:
      if (10 * (scs_khz // 15)) % (a + b) == 0:
        splits.setdefault(a + b, []).append(a)
  for total, firsts in sorted(splits.items()):
    n = total * _SYMBOLS
    periods = len(flat) // n
    if periods < _MIN_PERIODS:
      continue
    phase = position % n
    folded_on = np.bincount(phase, weights=on, minlength=n) > 0
    seen = np.bincount(phase, minlength=n) > 0
    for first in firsts:
      parts = [(0, first)] + ([(first, total)] if first < total else [])
      fits = [_prefix(folded_on[a * _SYMBOLS:b * _SYMBOLS], seen[a * _SYMBOLS:b * _SYMBOLS]) for a, b in parts]
      if any(f is None for f in fits):
        continue
      silent = sum(f[1] for f in fits)
      score = (silent / n, -len(parts), -total)
      if best is None or score > best[0]:
        best = (score, total, parts, fits, periods)
  if best is None or best[0][0] == 0:
    return None
  _, total, parts, fits, periods = best
  patterns = [_pattern(b - a, f[0], scs_khz) for (a, b), f in zip(parts, fits)]
  config = nr_tdd.TddConfig(*patterns)
  downlink = nr_tdd.downlink_symbols(config, scs_khz, total).reshape(-1)
  in_downlink = downlink[position % (total * _SYMBOLS)]
  if flat[on & in_downlink].mean() < _MIN_CONTRAST * flat[~in_downlink].mean():  # a loaded carrier's texture
    return None
  whole = slice(0, len(on) - len(on) % (total * _SYMBOLS))  # whole periods (any phase: each holds every position once)
  fill = float(on[whole][in_downlink[whole]].mean())
  return TddEstimate(config, nr_tdd.slot_string(config, scs_khz), scs_khz, periods, fill)
