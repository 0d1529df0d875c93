"""LTE carriers of a recording, without being told where they are: occupied bands from the power spectrum, cell
search on the 100 kHz channel raster inside them, the MIB as proof and for the bandwidth (TS 36.101 §5.7.2,
TS 36.211 §6.6).

A carrier's centre is its DC subcarrier, where the PSS sits; a centre on a raster point r within a band is found
by the PSS search at r, whose frequency-offset grid (±50 kHz) covers the half raster step, so every raster point
of a band is one candidate. The candidates are ranked by a short PSS search (12 ms), the best one gets the full
cell search and the MIB decoding over the recording, and a carrier counts only when a MIB's CRC passes (a false
pass: about 1e-4 per frame and port hypothesis). The carrier's band (centre ± N_RB·90 kHz) is then taken out of
the occupied band and the rest searched again, so adjacent carriers are found one by one. When no band yields a
carrier, the whole span is searched as one band (a carrier may fill the capture and leave no floor to see).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from specsense_jax import portable_math
from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import lte_mib
from specsense_jax.signals import lte_receiver

RASTER_HZ = 100e3  # TS 36.101 §5.7.2: E-UTRA carrier centres are multiples of 100 kHz
_CFO_SPAN_HZ = np.arange(-50e3, 50e3 + 1, 2.5e3)  # half a raster step either way, the searcher's 2.5 kHz grid
_MIN_BAND_HZ = 1.08e6  # the 72 central subcarriers (PSS, SSS, PBCH) of the narrowest carrier
_PRESCREEN_S = 0.012
_MIN_LENGTH_S = 0.006  # a PSS and its SSS whatever the frame timing
_MIDPOINT_SPAN_HZ = 1e6  # raster points tried around a band's midpoint before its edges
# The prescreen's PSS peak worth a full search: measured 0.73-0.82 at the real LTE captures' centres, 0.11 on
# noise, 0.15-0.18 on NR and beside LTE carriers.
_PRESCREEN_MIN = 0.3


@dataclasses.dataclass(frozen=True)
class LteCarrier:
  """An LTE carrier found in a recording.

  Attributes:
    centre_offset_hz: the carrier centre (its DC subcarrier) relative to the capture centre, on the raster when
      the capture's centre frequency was given.
    cell: the cell search's result at that centre (cell ID, duplex, CP, frame timing, CFO, ports).
    mibs: the MIB of every radio frame that decoded.
    ul_dl_config: TDD uplink-downlink configuration (Table 4.2-2) from the subframe energy; None for FDD or
      when the recording is shorter than a frame from the frame start.
    special_subframe_configs: the TDD special subframe configurations (Table 4.2-1) whose DwPTS fits the
      symbol power of subframe 1; () for FDD or when unknown.
  """
  centre_offset_hz: float
  cell: lte_receiver.LteCell
  mibs: tuple[lte_mib.DecodedMib, ...]
  ul_dl_config: int | None = None
  special_subframe_configs: tuple[int, ...] = ()

  @property
  def n_rb(self) -> int:
    return self.mibs[0].mib.bandwidth_rb

  @property
  def channel_bandwidth_hz(self) -> float:
    """The channel bandwidth of the MIB's N_RB (TS 36.101 Table 5.6-1), e.g. 20 MHz for 100 RB."""
    return 1e6 * next(bw for bw, n_rb in lte.LTE_N_RB.items() if n_rb == self.n_rb)

  @property
  def occupied_hz(self) -> tuple[float, float]:
    """The transmission bandwidth's edges (N_RB resource blocks of 180 kHz around the centre), relative to the
    capture centre."""
    half = self.n_rb * 90e3
    return self.centre_offset_hz - half, self.centre_offset_hz + half


def occupied_bands(iq: np.ndarray, sample_rate: float, *, threshold_db: float = 6.0,
                   min_width_hz: float = _MIN_BAND_HZ) -> list[tuple[float, float]]:
  """Frequency spans (Hz from the capture centre, ascending) whose power, smoothed over 180 kHz (one resource
  block), stands `threshold_db` above the noise floor (the spectrum's 3rd percentile: a carrier may fill all but
  a few percent of the span); gaps under 360 kHz are bridged, spans narrower than `min_width_hz` dropped."""
  nfft = 1 << int(np.ceil(np.log2(sample_rate / 7.5e3)))  # bins of 7.5 kHz or finer
  x = np.asarray(iq, np.complex64)
  x = x - x.mean()  # a receiver's DC offset is no carrier
  _, psd = scipy.signal.welch(x, fs=sample_rate, nperseg=min(nfft, len(x)), return_onesided=False,
                              detrend=False)
  psd = np.fft.fftshift(psd)
  freqs = (np.arange(len(psd)) - len(psd) // 2) * sample_rate / len(psd)
  smooth = max(1, int(round(180e3 / (sample_rate / len(psd)))))
  level = np.convolve(psd, np.ones(smooth) / smooth, mode='same')
  floor = np.percentile(level, 3)
  above = level > floor * portable_math.db_to_power(threshold_db)
  gap = int(round(360e3 / (sample_rate / len(psd))))
  below = np.flatnonzero(np.diff(np.r_[0, (~above).astype(np.int8), 0]))
  for a, b in zip(below[0::2], below[1::2]):  # runs of bins below the threshold: short inner ones bridged
    if 0 < a and b < len(above) and b - a <= gap:
      above[a:b] = True
  edges = np.flatnonzero(np.diff(np.r_[0, above.astype(np.int8), 0]))
  bands = [(float(freqs[a]), float(freqs[b - 1])) for a, b in zip(edges[0::2], edges[1::2])]
  return [band for band in bands if band[1] - band[0] >= min_width_hz]


def _raster_points(lo: float, hi: float, center_frequency: float, sample_rate: float) -> np.ndarray:
  """Offsets (from the capture centre) of the raster points in [lo, hi] whose central 1.08 MHz fits the
  capture."""
  first = np.ceil((center_frequency + lo) / RASTER_HZ - 1e-9)
  last = np.floor((center_frequency + hi) / RASTER_HZ + 1e-9)
  offsets = np.arange(first, last + 1) * RASTER_HZ - center_frequency
  return offsets[np.abs(offsets) + 0.54e6 <= sample_rate / 2]


def _candidate_sets(band: tuple[float, float], center_frequency: float, sample_rate: float) -> list[np.ndarray]:
  """Raster points to try for a carrier in `band`, in turn: around its midpoint (a carrier filling the band),
  then where a carrier of each LTE bandwidth would sit against either edge (carriers side by side)."""
  lo, hi = band[0] + 0.54e6, band[1] - 0.54e6
  mid = (band[0] + band[1]) / 2
  sets = [_raster_points(max(lo, mid - _MIDPOINT_SPAN_HZ), min(hi, mid + _MIDPOINT_SPAN_HZ), center_frequency,
                         sample_rate)]
  edges = [c for n_rb in lte.LTE_N_RB.values() for c in (band[0] + n_rb * 90e3, band[1] - n_rb * 90e3)
           if lo <= c <= hi]
  sets.append(np.unique(np.concatenate([_raster_points(c - 150e3, c + 150e3, center_frequency, sample_rate)
                                        for c in edges] or [np.zeros(0)])))
  return sets


class _Prescreen:
  """The strongest PSS correlation (folded over half-frames, 0..1) of the recording's first 12 ms centred at a
  candidate: the 1.92 MHz around it cut from one FFT of those 12 ms (a brick-wall channel filter, then exactly
  1.92 Msps), so a candidate costs a 23,040-point inverse FFT instead of a resampling of the whole head."""

  def __init__(self, iq: np.ndarray, sample_rate: float):
    self.spectrum = channel.SpectrumCut(iq, sample_rate,
                                        int(round(min(_PRESCREEN_S, len(iq) / sample_rate) * sample_rate)))

  def __call__(self, offset: float) -> float:
    return lte_receiver.pss_peak(self.spectrum.cut(offset, lte_receiver.SEARCH_RATE), _CFO_SPAN_HZ[::2])


def find_lte_carriers(iq: np.ndarray, sample_rate: float, *, center_frequency: float = 0.0,
                      max_carriers: int = 8) -> list[LteCarrier]:
  """The LTE carriers of a recording whose MIB decodes, in order of frequency.

  Args:
    iq: complex baseband samples, at least 6 ms (a PSS and its SSS); the MIB needs a whole subframe 0, and
      more frames make it surer.
    sample_rate: samples per second (any rate the cell search takes: p/q·1.92 MHz).
    center_frequency: the capture's centre in Hz, which places the 100 kHz raster; 0 when unknown (then the
      raster is relative to the capture centre, right when that centre is on the raster).
    max_carriers: at most this many carriers.
  Returns:
    One `LteCarrier` per carrier found; an empty list when no MIB decodes.
  """
  iq = np.asarray(iq, np.complex64)
  if len(iq) < _MIN_LENGTH_S * sample_rate:
    raise ValueError(f'iq: at least {_MIN_LENGTH_S * 1e3:g} ms needed for the LTE search, got '
                     f'{len(iq) / sample_rate * 1e3:.2f} ms')
  prescreen = _Prescreen(iq, sample_rate)
  pending = occupied_bands(iq, sample_rate)
  found: list[LteCarrier] = []
  tried: set[int] = set()
  whole_span_tried = False
  while len(found) < max_carriers:
    if not pending:
      # Nothing found in the bands: a carrier filling the span leaves no noise floor to find its band
      # against (band-3 take 2), so the whole span is searched once.
      if found or whole_span_tried:
        break
      pending, whole_span_tried = [(-sample_rate / 2, sample_rate / 2)], True
    band = pending.pop(0)
    carrier = None
    for candidates in _candidate_sets(band, center_frequency, sample_rate):
      candidates = [c for c in candidates if int(round(c)) not in tried]
      if not candidates:
        continue
      scores = [prescreen(c) for c in candidates]
      offset = float(candidates[int(np.argmax(scores))])
      tried.add(int(round(offset)))
      if max(scores) < _PRESCREEN_MIN:
        continue
      carrier = _carrier_at(iq, sample_rate, offset)
      if carrier is not None:
        break
    if carrier is None:
      continue
    found.append(carrier)
    lo, hi = carrier.occupied_hz
    pending += [part for part in ((band[0], lo - 90e3), (hi + 90e3, band[1])) if part[1] - part[0] >= _MIN_BAND_HZ]
  return sorted(found, key=lambda c: c.centre_offset_hz)


def _carrier_at(iq: np.ndarray, sample_rate: float, offset: float) -> LteCarrier | None:
  """The carrier centred at `offset` when its cell is found and its MIB decodes, else None."""
  try:
    cell = lte_receiver.detect_lte_cell(iq, sample_rate, centre_offset_hz=offset, cfo_search_hz=_CFO_SPAN_HZ)
  except ValueError:  # too short for this search
    return None
  mibs = lte_mib.decode_mib(iq, sample_rate, cell, centre_offset_hz=offset)
  if not mibs or not _consistent(mibs, sample_rate):
    return None
  config, special = None, ()
  if cell.duplex == 'tdd':
    band = _band_only(iq, sample_rate, offset, mibs[0].mib.bandwidth_rb * 90e3)
    try:
      config, _ = lte_receiver.guess_ul_dl_config(lte_receiver.tdd_subframe_energy(band, sample_rate,
                                                                                    cell.frame_start))
      _, special = lte_receiver.guess_dwpts_symbols(band, sample_rate, cell.frame_start)
    except ValueError:  # shorter than a frame from its start: the configuration stays unknown
      pass
  return LteCarrier(offset, cell, tuple(mibs), config, special)


def _consistent(mibs: list[lte_mib.DecodedMib], sample_rate: float) -> bool:
  """Whether the frames' MIBs tell one cell: the same bandwidth, PHICH and ports, and SFNs that count with the
  frames (a CRC passed by chance, about 1e-4 per frame, would break this when two or more frames decode)."""
  first = mibs[0]
  frame = sample_rate * 0.01
  for d in mibs[1:]:
    step = int(round((d.frame_start - first.frame_start) / frame))
    if dataclasses.replace(d.mib, sfn=(d.mib.sfn - step) % 1024) != first.mib:
      return False
  return True


def _band_only(iq: np.ndarray, sample_rate: float, offset: float, half_width: float) -> np.ndarray:
  """`iq` with only the carrier's band kept (shifted to 0 Hz and low-passed), at the same rate."""
  x = channel.frequency_shift(iq, -offset, sample_rate)
  taps = scipy.signal.firwin(129, min(half_width, 0.45 * sample_rate), fs=sample_rate)
  return scipy.signal.fftconvolve(x, taps, mode='same').astype(np.complex64)
