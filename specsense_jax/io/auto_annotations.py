"""Annotations of a recording without a human: LTE and NR cells found on their rasters and proven by their MIB,
their bands, and the energy nothing explains (Unknown).

- LTE: the MIB's N_RB gives the channel bandwidth (TS 36.101 Table 5.6-1); the label covers the nominal channel
  band centre ± BW/2 over the whole recording (the band convention), source 'mib'.
- NR: the carrier holds the SS/PBCH block and, when the MIB has one (k_SSB <= 23), CORESET0 (TS 38.213 §13).
  When the occupied band around them matches a transmission bandwidth N_RB·12·SCS of TS 38.104 Table 5.3.2-1
  (within two RBs), the carrier is that channel (source 'spectrum'); otherwise the label covers what is known
  (block, CORESET0 and the energy joined to them, source 'coreset0' or 'ssb') and Ignore reaches out to the widest
  channel of TS 38.104 Table 5.3.2-1 at that SCS (within the band's edges), since the rest of the carrier cannot be
  told from noise.
- Unknown: occupied bands (`lte_scan.occupied_bands`) that no cell explains, less what is Ignore.

Each annotation is framework-shaped (`label`, `freq_lower_edge`/`freq_upper_edge` relative to the centre,
`sample_start`, `sample_count`) plus `specsense:` fields: `cell_id`, `duplex`, `bandwidth_source`, `confidence`
(the share of the recording's radio frames whose MIB decoded; 1 for an NR block that decoded), `mib`, and for an
NR cell of a TDD band `tdd`: the pattern read from its symbols' energy (`nr_tdd_scan`; None when the recording
holds under two periods or too little downlink energy to read it) as slots ('DDDSU'), periodicities, downlink
symbols of each special slot, periods seen and fill.
"""

from __future__ import annotations

import numpy as np

from specsense_jax import constants
from specsense_jax.signals import lte_scan
from specsense_jax.signals import nr
from specsense_jax.signals import nr_coreset
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_scan
from specsense_jax.signals import nr_tdd_scan

_MATCH_RBS = 2  # a transmission bandwidth matches an occupied band within this many RBs
# A fading notch splits one carrier's spectrum (a 40 MHz cell through TDL-A at 10 dB SNR shows 1.3-1.7 MHz gaps).
# Bands this near a cell's are joined to it only when the join then matches a channel of its numerology; adjacent
# carriers can be as near (1.7-1.9 MHz), so bands an LTE carrier explains are never joined.
_JOIN_GAP_HZ = 2e6
_MIN_UNKNOWN_HZ = 180e3  # unexplained energy narrower than a resource block is not annotated


def _lte_annotations(iq: np.ndarray, sample_rate: float, center_frequency: float) -> list[dict]:
  try:
    carriers = lte_scan.find_lte_carriers(iq, sample_rate, center_frequency=center_frequency)
  except ValueError:  # shorter than an LTE search needs
    return []
  frames = max(1, int(len(iq) // (sample_rate * 0.01)))
  out = []
  for c in carriers:
    half = c.channel_bandwidth_hz / 2
    out.append({'label': 'LTE', 'freq_lower_edge': c.centre_offset_hz - half,
                'freq_upper_edge': c.centre_offset_hz + half, 'specsense:cell_id': c.cell.ncellid,
                'specsense:duplex': c.cell.duplex, 'specsense:bandwidth_source': 'mib',
                'specsense:confidence': min(1.0, len(c.mibs) / frames),
                'specsense:mib': {'n_rb': c.n_rb, 'sfn': c.mibs[0].mib.sfn, 'ports': c.mibs[0].mib.num_ports,
                                  'ul_dl_config': c.ul_dl_config}})
  return out


def _coreset0_span(cell: nr_scan.NrCell) -> tuple[float, float] | None:
  """CORESET0's edges (Hz from the capture centre) from the MIB, or None without one (k_SSB > 23)."""
  mib = cell.ssb.mib
  if mib.k_ssb > nr_coreset.MAX_K_SSB:
    return None
  try:  # the 5/10 MHz tables (13-1..13-4); the 40 MHz-class ones of n79's sparse raster are not tried
    row = nr_coreset.coreset0(mib.coreset_zero, cell.scs_khz, mib.scs_common_khz, k_ssb=mib.k_ssb)
  except ValueError:  # a reserved index: the block alone is known
    return None
  rb_hz = 12 * mib.scs_common_khz * 1e3
  # the common RB holding the block's first subcarrier starts k_SSB 15 kHz subcarriers below it (FR1)
  crb = cell.ssb_offset_hz - 120 * cell.scs_khz * 1e3 - mib.k_ssb * 15e3
  low = crb - row.offset_rb * rb_hz
  return low, low + row.n_rb * rb_hz


def _joined(span: list[float], bands: list[tuple[float, float]], gap: float = 0.0) -> list[float]:
  """`span` grown by every occupied band that touches it or comes within `gap` of it, until none does."""
  span = list(span)
  grown = True
  while grown:
    grown = False
    for lo, hi in bands:
      if lo <= span[1] + gap and hi >= span[0] - gap and (lo < span[0] or hi > span[1]):
        span, grown = [min(span[0], lo), max(span[1], hi)], True
  return span


def _channel(span: list[float], scs_khz: int) -> tuple[float, float] | None:
  """The channel (edges, Hz) whose transmission bandwidth (TS 38.104 Table 5.3.2-1) `span` matches within
  _MATCH_RBS resource blocks, or None."""
  width, rb_hz = span[1] - span[0], 12 * scs_khz * 1e3
  bw, n_rb = min(nr.NR_N_RB[scs_khz].items(), key=lambda item: abs(width - item[1] * rb_hz))
  if abs(width - n_rb * rb_hz) > _MATCH_RBS * rb_hz:
    return None
  centre = (span[0] + span[1]) / 2
  return centre - bw * 1e6 / 2, centre + bw * 1e6 / 2


def _carrier_scs_khz(cell: nr_scan.NrCell) -> int:
  """The carrier's numerology as the MIB gives it: subCarrierSpacingCommon when a CORESET0 goes with the block
  (k_SSB <= 23), else the block's own spacing (the field then means nothing, TS 38.213 §4.1)."""
  return cell.ssb.mib.scs_common_khz if cell.ssb.mib.k_ssb <= nr_coreset.MAX_K_SSB else cell.scs_khz


def _tdd_fields(iq: np.ndarray, sample_rate: float, cell: nr_scan.NrCell, band: tuple[float, float]) -> dict | None:
  """The cell's TDD pattern read from its band's symbol energy (`nr_tdd_scan`), or None when it cannot be read
  (under two periods, no on/off structure)."""
  half = sample_rate / 2
  band = (max(band[0], -half), min(band[1], half))
  try:
    estimate = nr_tdd_scan.estimate_tdd(iq, sample_rate, frame_start=nr_tdd_scan.cell_frame_start(cell, sample_rate),
                                        scs_khz=_carrier_scs_khz(cell), band_hz=band)
  except ValueError:  # under a millisecond
    return None
  if estimate is None or estimate.fill < nr_tdd_scan.MIN_FILL:  # an idle cell's few symbols: no pattern to trust
    return None
  patterns = [p for p in (estimate.config.pattern1, estimate.config.pattern2) if p is not None]
  return {'slots': estimate.slots, 'scs_khz': estimate.scs_khz,
          'periodicity_ms': [p.periodicity_ms for p in patterns],
          'downlink_symbols': [p.nrof_downlink_symbols for p in patterns], 'periods': estimate.periods,
          'fill': round(estimate.fill, 3)}


def _nr_annotations(iq: np.ndarray, sample_rate: float, center_frequency: float,
                    bands: list[tuple[float, float]]) -> list[dict]:
  """NR cells' labels and Ignore margins; `bands` are the occupied bands no LTE carrier explains."""
  out = []
  for cell in nr_scan.find_nr_cells(iq, sample_rate, center_frequency=center_frequency):
    scs = cell.scs_khz * 1e3
    known = [cell.ssb_offset_hz - 120 * scs, cell.ssb_offset_hz + 120 * scs]
    coreset = _coreset0_span(cell)
    if coreset is not None:
      known = [min(known[0], coreset[0]), max(known[1], coreset[1])]
    joined = _joined(known, bands)
    duplex = nr_raster.get_band(cell.band).duplex.lower()
    fields = {'specsense:cell_id': cell.ncellid, 'specsense:duplex': duplex, 'specsense:confidence': 1.0,
              'specsense:mib': {'sfn': cell.ssb.mib.sfn, 'k_ssb': cell.ssb.mib.k_ssb, 'gscn': cell.gscn,
                                'blocks_decoded': 1 + len(cell.repeats),
                                'coreset_zero': cell.ssb.mib.coreset_zero,
                                'search_space_zero': cell.ssb.mib.search_space_zero}}
    carrier_scs = _carrier_scs_khz(cell)
    channel = _channel(joined, carrier_scs) or _channel(_joined(known, bands, _JOIN_GAP_HZ), carrier_scs)
    loaded = channel is not None
    if loaded:  # a loaded carrier: its channel
      label, source = channel, 'spectrum'
    else:  # CORESET0 bounds what is known; without one, the energy around the block does
      source = 'coreset0' if coreset is not None else 'ssb'
      label = known = tuple(known if coreset is not None else joined)
    if duplex == 'tdd':
      fields['specsense:tdd'] = _tdd_fields(iq, sample_rate, cell, label)
    out.append({'label': 'NR', 'freq_lower_edge': label[0], 'freq_upper_edge': label[1],
                'specsense:bandwidth_source': source, **fields})
    if loaded:
      continue
    widest = max(nr.NR_N_RB[carrier_scs]) * 1e6
    band_lo, band_hi = (edge - center_frequency for edge in nr_raster.get_band(cell.band).dl_hz)
    reach = (max(known[1] - widest, band_lo, -sample_rate / 2), min(known[0] + widest, band_hi, sample_rate / 2))
    for lo, hi in ((reach[0], known[0]), (known[1], reach[1])):
      if hi > lo:
        out.append({'label': constants.IGNORE_LABEL, 'freq_lower_edge': lo, 'freq_upper_edge': hi,
                    'specsense:bandwidth_source': source, 'specsense:cell_id': cell.ncellid})
  return out


def _subtract(bands: list[tuple[float, float]], covered: list[tuple[float, float]]) -> list[tuple[float, float]]:
  """The parts of `bands` outside every span of `covered`."""
  out = []
  for lo, hi in bands:
    parts = [(lo, hi)]
    for c_lo, c_hi in covered:
      parts = [p for a, b in parts for p in ((a, min(b, c_lo)), (max(a, c_hi), b)) if p[1] > p[0]]
    out += parts
  return out


def annotate(iq: np.ndarray, sample_rate: float, *, center_frequency: float) -> list[dict]:
  """The automatic annotations of a recording (see the module docstring), each over the whole recording,
  clipped to the captured band; an empty list when nothing is found."""
  iq = np.asarray(iq, np.complex64)
  bands = lte_scan.occupied_bands(iq, sample_rate)
  annotations = _lte_annotations(iq, sample_rate, center_frequency)
  lte = [(a['freq_lower_edge'], a['freq_upper_edge']) for a in annotations]
  annotations += _nr_annotations(iq, sample_rate, center_frequency,
                                 [b for b in bands if not any(b[0] < hi and b[1] > lo for lo, hi in lte)])
  labelled = [(a['freq_lower_edge'], a['freq_upper_edge']) for a in annotations
              if a['label'] != constants.IGNORE_LABEL]
  # one cell's Ignore never covers another's label
  annotations = [a if a['label'] != constants.IGNORE_LABEL else {**a, 'freq_lower_edge': lo, 'freq_upper_edge': hi}
                 for a in annotations for lo, hi in (_subtract([(a['freq_lower_edge'], a['freq_upper_edge'])], labelled)
                                                     if a['label'] == constants.IGNORE_LABEL else [(0, 0)])]
  covered = [(a['freq_lower_edge'], a['freq_upper_edge']) for a in annotations]
  annotations += [{'label': 'Unknown', 'freq_lower_edge': lo, 'freq_upper_edge': hi,
                   'specsense:bandwidth_source': 'spectrum', 'specsense:confidence': 1.0}
                  for lo, hi in _subtract(bands, covered) if hi - lo >= _MIN_UNKNOWN_HZ]
  half = sample_rate / 2
  clipped = []
  for a in annotations:
    lo, hi = max(a['freq_lower_edge'], -half), min(a['freq_upper_edge'], half)
    if hi > lo:
      clipped.append({**a, 'freq_lower_edge': float(lo), 'freq_upper_edge': float(hi), 'sample_start': 0,
                      'sample_count': len(iq)})
  return clipped
