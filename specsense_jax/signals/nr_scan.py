"""NR cells of a recording, without being told where their SS/PBCH blocks are: every GSCN of the synchronization
raster (TS 38.104 §5.4.3, the bands of `nr_raster` that hold the capture's centre) inside the captured span is
searched, and a cell counts only when its PBCH decodes (CRC-24C) and every repeat of its block found a whole
number of half frames away carries the SFN and half frame that the distance gives.

Each candidate's 256 subcarriers around SS_REF are cut from one FFT of the recording (a brick-wall channel filter,
then exactly 256·SCS samples per second), where the three PSS are correlated; the candidates whose normalised PSS
peak clears a floor get the full-rate search (`nr_receiver.detect_nr_cell`: timing, PCI) and the PBCH decoding
(`nr_mib.decode_ssb`).
"""

from __future__ import annotations

import dataclasses

import fractions

import numpy as np
import scipy.signal

from specsense_jax.signals import channel
from specsense_jax.signals import nr_mib
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_receiver
from specsense_jax.signals import sequences

_NARROW_FFT = 256  # subcarriers kept around SS_REF for the PSS prescreen
_PSS_SUBCARRIERS = np.arange(56, 183) - 120  # TS 38.211 Table 7.4.3.1-1, relative to SS_REF (k = 120)
_MAX_PRESCREEN_S = 0.02
# The prescreen's normalised PSS peak worth a full search: 0.77-1.00 at the real captures' SSBs, at most 0.08 at
# other raster points and in the capture without an SSB (measured on ../shared/realdata/captures).
_PRESCREEN_MIN = 0.2


@dataclasses.dataclass(frozen=True)
class NrCell:
  """An NR cell whose SS/PBCH block decoded.

  Attributes:
    band: the operating band whose synchronization raster the block is on.
    gscn: its GSCN.
    ssb_offset_hz: SS_REF (block subcarrier 120) relative to the capture centre.
    scs_khz: the block's subcarrier spacing.
    ncellid: physical cell identity.
    ssb: the decoded block (timing, SSB index, MIB).
    pss_metric: the prescreen's normalised PSS peak, 0..1.
    repeats: the same block decoded again a whole number of half frames away, each with the SFN and half
      frame that its distance gives (a block repeats every 5-160 ms; `_repeats`).
  """
  band: str
  gscn: int
  ssb_offset_hz: float
  scs_khz: int
  ncellid: int
  ssb: nr_mib.DecodedSsb
  pss_metric: float
  repeats: tuple[nr_mib.DecodedSsb, ...] = ()


def ssb_candidates(center_frequency: float, sample_rate: float) -> list[tuple[str, int, int, float]]:
  """(band, GSCN, SCS kHz, SS_REF offset Hz) of every raster point of every band holding `center_frequency`
  whose whole block (240 subcarriers) lies inside the captured span; a point of overlapping bands (n77 and n78)
  is listed once, under the narrower band."""
  out = {}
  for band in sorted(nr_raster.BANDS.values(), key=lambda b: b.dl_hz[0] - b.dl_hz[1], reverse=True):
    low, high = band.dl_hz
    if not low <= center_frequency <= high:
      continue
    for entry in band.ss_raster:
      half = 120 * entry.scs_khz * 1e3
      for gscn in entry.gscns:
        offset = nr_raster.gscn_to_hz(gscn) - center_frequency
        if abs(offset) + half <= sample_rate / 2:
          out.setdefault((int(gscn), entry.scs_khz), (band.name, int(gscn), entry.scs_khz, float(offset)))
  return sorted(out.values(), key=lambda c: (c[3], c[2]))


class _Prescreen:
  """Normalised PSS peaks of candidates, each from 256 subcarriers cut from one FFT of the recording."""

  def __init__(self, iq: np.ndarray, sample_rate: float):
    whole_ms = int(min(_MAX_PRESCREEN_S, len(iq) / sample_rate) * 1e3)  # whole ms: 256·SCS is then whole bins
    self.spectrum = channel.SpectrumCut(iq, sample_rate, whole_ms * int(round(sample_rate / 1e3)))
    # the three PSS on a 256-point symbol: the same samples at either SCS (the rate scales with it)
    spectra = np.zeros((3, _NARROW_FFT), np.complex128)
    for n_id2 in range(3):
      spectra[n_id2, _PSS_SUBCARRIERS % _NARROW_FFT] = sequences.nr_pss(n_id2)
    self.replicas = np.fft.ifft(spectra, axis=1)

  def __call__(self, offset_hz: float, scs_khz: int) -> float:
    x = self.spectrum.cut(offset_hz, _NARROW_FFT * scs_khz * 1e3).astype(np.complex128)
    replicas = self.replicas
    nfft = len(x) + _NARROW_FFT
    corr = np.fft.ifft(np.fft.fft(x, nfft)[None] * np.conj(np.fft.fft(replicas, nfft, axis=1)), axis=1)
    corr = np.abs(corr[:, :len(x) - _NARROW_FFT + 1]) ** 2
    energy = np.convolve(np.abs(x) ** 2, np.ones(_NARROW_FFT), mode='valid')
    metric = corr / (np.maximum(energy, 1e-30) * np.sum(np.abs(replicas[0]) ** 2))
    return float(metric.max())


def _repeats(iq: np.ndarray, sample_rate: float, scs_khz: int, offset_hz: float, ncellid: int,
             ssb: nr_mib.DecodedSsb) -> tuple[nr_mib.DecodedSsb, ...] | None:
  """The block decoded at each further half frame of the recording (the period is unknown: 5 ms steps), or None
  when one decodes with an SFN and half frame that its distance contradicts (a CRC passed by chance)."""
  half = 5e-3 * sample_rate
  position = 2 * ssb.mib.sfn + ssb.mib.half_frame  # half frames since SFN 0
  found = []
  for k in range(-int(ssb.pss_start // half), int((len(iq) - ssb.pss_start) // half) + 1):
    if k == 0:
      continue
    try:
      again = nr_mib.decode_ssb(iq, sample_rate, ncellid=ncellid, scs_khz=scs_khz, ssb_offset_hz=offset_hz,
                                pss_start=int(round(ssb.pss_start + k * half)))
    except ValueError:  # the block would run past the recording's end
      continue
    if again is None:
      continue
    if 2 * again.mib.sfn + again.mib.half_frame != (position + k) % 2048 or again.ssb_index != ssb.ssb_index:
      return None
    found.append(again)
  return tuple(found)


def find_nr_cells(iq: np.ndarray, sample_rate: float, *, center_frequency: float,
                  max_cells: int = 4) -> list[NrCell]:
  """The NR cells of a recording whose SS/PBCH block on the synchronization raster decodes, strongest PSS first.

  Args:
    iq: complex baseband samples holding at least one SS/PBCH block (4 OFDM symbols).
    sample_rate: samples per second (rates that are no multiple of 3.84 MHz are resampled up to one).
    center_frequency: the capture's centre in Hz (places the raster and picks the bands).
    max_cells: at most this many cells (one per GSCN and SCS).
  Returns:
    One `NrCell` per decoded block; an empty list when none decodes.
  """
  iq = np.asarray(iq, np.complex64)
  candidates = ssb_candidates(center_frequency, sample_rate)
  if not candidates or len(iq) < 1e-3 * sample_rate:  # under 1 ms: not even one slot of a 15 kHz cell
    return []
  # The receiver's FFT sizes need a multiple of 3.84 MHz (1.92 MHz per 15 kHz): other rates are resampled up to
  # the next one, and the cells' sample positions given back at the recording's rate.
  grid = 3.84e6 * np.ceil(sample_rate / 3.84e6 - 1e-9)
  if grid != sample_rate:
    ratio = fractions.Fraction(grid / sample_rate).limit_denominator(1000)
    iq = scipy.signal.resample_poly(iq, ratio.numerator, ratio.denominator).astype(np.complex64)
    cells = find_nr_cells(iq, sample_rate * ratio.numerator / ratio.denominator,
                          center_frequency=center_frequency, max_cells=max_cells)
    scale = ratio.denominator / ratio.numerator
    at_input_rate = lambda d: dataclasses.replace(d, pss_start=int(round(d.pss_start * scale)))
    return [dataclasses.replace(c, ssb=at_input_rate(c.ssb), repeats=tuple(map(at_input_rate, c.repeats)))
            for c in cells]
  prescreen = _Prescreen(iq, sample_rate)
  scored = sorted(((prescreen(offset, scs), band, gscn, scs, offset) for band, gscn, scs, offset in candidates),
                  reverse=True)
  found: list[NrCell] = []
  for metric, band, gscn, scs, offset in scored:
    if metric < _PRESCREEN_MIN or len(found) == max_cells:
      break
    try:
      cell = nr_receiver.detect_nr_cell(iq, sample_rate, scs, offset)
      ssb = nr_mib.decode_ssb(iq, sample_rate, ncellid=cell['ncellid'], scs_khz=scs, ssb_offset_hz=offset,
                               pss_start=cell['pss_start'])
    except ValueError:  # the strongest block too near the recording's edge
      continue
    if ssb is None or any(f.gscn == gscn for f in found):
      continue
    repeats = _repeats(iq, sample_rate, scs, offset, cell['ncellid'], ssb)
    if repeats is not None:  # SFNs that count with the half frames, or a single block
      found.append(NrCell(band, gscn, offset, scs, cell['ncellid'], ssb, metric, repeats))
  return found
