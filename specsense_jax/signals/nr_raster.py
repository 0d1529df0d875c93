"""NR frequency rasters of TS 38.104 §5.4 (FR1): NR-ARFCN, the synchronization raster (GSCN), per-band channel
and SS raster tables, and where an SS/PBCH block on the synchronization raster sits inside a carrier.

Conventions, shared with `nr.nr_source` and `ofdm.subcarrier_frequency`:
- A carrier of N_RB resource blocks has subcarriers k = 0..12·N_RB-1 from its lower edge. Its centre, the RF
  reference frequency F_REF, is subcarrier k = 6·N_RB (TS 38.104 Table 5.4.2.2-1: k = 0 of PRB N_RB/2 for even
  N_RB, k = 6 of PRB floor(N_RB/2) for odd N_RB), so subcarrier k sits at F_REF + (k - 6·N_RB)·SCS.
- SS_REF of a GSCN is subcarrier k = 120 of the 240-subcarrier SS/PBCH block (TS 38.104 §5.4.3.1, Table
  5.4.3.1-2), so the block covers SS_REF - 120·SCS .. SS_REF + 119·SCS.
- offsetToCarrier = 0: common resource block 0 starts at the carrier's lowest subcarrier, so point A (the centre of
  subcarrier 0 of CRB 0, TS 38.211 §4.4.4.2) is the carrier's subcarrier 0 and carrier RB n is CRB n.
- subCarrierSpacingCommon and the SS/PBCH block use the carrier's SCS (nr_source renders one numerology).

All raster arithmetic is in whole Hz, so conversions are exact.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from specsense_jax.signals import nr

N_SC = 12
SSB_SUBCARRIERS = 240
SSB_CENTRE_SUBCARRIER = 120  # TS 38.104 Table 5.4.3.1-2: SS_REF is resource element k = 120 of the block
# TS 38.104 Table 5.4.2.1-1, FR1 rows: (first Hz, last Hz, F_REF-Offs Hz, ΔF_Global Hz, N_REF-Offs, N_REF range).
_ARFCN_ROWS = (
    (0, 3_000_000_000, 0, 5_000, 0, (0, 599_999)),
    (3_000_000_000, 24_250_000_000, 3_000_000_000, 15_000, 600_000, (600_000, 2_016_666)),
)
# TS 38.104 Table 5.4.3.1-1: GSCN = 3N + (M - 3)/2 below 3 GHz (SS_REF = N·1200 kHz + M·50 kHz, N = 1..2499,
# M in {1, 3, 5}); GSCN = 7499 + N from 3 to 24.25 GHz (SS_REF = 3000 MHz + N·1.44 MHz, N = 0..14756).
GSCN_RANGE = (2, 22_255)
_GSCN_3GHZ = 7_499
_M_OF_GSCN_MOD_3 = {2: 1, 0: 3, 1: 5}  # GSCN mod 3 -> M
_TOLERANCE_HZ = 1e-3  # float inputs such as 1857.65e6 are whole Hz to within rounding


@dataclasses.dataclass(frozen=True)
class SsRaster:
  """One entry of TS 38.104 Table 5.4.3.3-1: the GSCNs of a band for one SS/PBCH block SCS.

  Attributes:
    scs_khz: SS/PBCH block subcarrier spacing.
    case: SS/PBCH block pattern of TS 38.213 §4.1 ('A', 'B' or 'C').
    gscns: the applicable GSCNs.
    bandwidth_mhz: channel bandwidths [low, high) the entry applies to (a NOTE of the table; all by default).
  """
  scs_khz: int
  case: str
  gscns: range | tuple[int, ...]
  bandwidth_mhz: tuple[float, float] = (0.0, math.inf)


@dataclasses.dataclass(frozen=True)
class Band:
  """An NR FR1 operating band.

  Attributes:
    name: 'n78' etc.
    duplex: 'FDD' or 'TDD' (TS 38.104 Table 5.2-1).
    dl_mhz: downlink band edges F_DL_low, F_DL_high (Table 5.2-1).
    ul_mhz: uplink band edges (the same as the downlink for TDD).
    channel_raster: rows (ΔF_Raster kHz, first, step, last) of downlink NR-ARFCNs (Table 5.4.2.3-1).
    ss_raster: the SS raster entries (Table 5.4.3.3-1).
  """
  name: str
  duplex: str
  dl_mhz: tuple[float, float]
  ul_mhz: tuple[float, float]
  channel_raster: tuple[tuple[int, int, int, int], ...]
  ss_raster: tuple[SsRaster, ...]

  @property
  def dl_hz(self) -> tuple[int, int]:
    return round(self.dl_mhz[0] * 1e6), round(self.dl_mhz[1] * 1e6)

  @property
  def ssb_scs_khz(self) -> tuple[int, ...]:
    return tuple(sorted({entry.scs_khz for entry in self.ss_raster}))


def _gscns(first: int, step: int, last: int) -> range:
  """The table's 'first – <step> – last' notation."""
  return range(first, last + 1, step)


def _fdd(name, dl, ul, arfcn, *ss):
  return Band(name, 'FDD', dl, ul, ((100, *arfcn),), ss)


def _tdd(name, band_mhz, raster, *ss):
  return Band(name, 'TDD', band_mhz, band_mhz, raster, ss)


# Band edges: TS 38.104 Table 5.2-1. Channel raster (downlink): Table 5.4.2.3-1, 100 kHz = NR-ARFCN step 20,
# 15 kHz above 3 GHz = step 1, 15 kHz below 3 GHz = step 3. SS raster: Table 5.4.3.3-1 (Rel-17/18 text).
# Not modelled: the extra n28 NR-ARFCN 155608 for 40 MHz channels (Table 5.4.2.3-1 NOTE).
BANDS = {
    'n1': _fdd('n1', (2110, 2170), (1920, 1980), (422_000, 20, 434_000), SsRaster(15, 'A', _gscns(5279, 1, 5419))),
    'n3': _fdd('n3', (1805, 1880), (1710, 1785), (361_000, 20, 376_000), SsRaster(15, 'A', _gscns(4517, 1, 4693))),
    'n5': _fdd('n5', (869, 894), (824, 849), (173_800, 20, 178_800), SsRaster(15, 'A', _gscns(2177, 1, 2230)),
               SsRaster(30, 'B', _gscns(2183, 1, 2224))),
    'n7': _fdd('n7', (2620, 2690), (2500, 2570), (524_000, 20, 538_000), SsRaster(15, 'A', _gscns(6554, 1, 6718))),
    'n8': _fdd('n8', (925, 960), (880, 915), (185_000, 20, 192_000), SsRaster(15, 'A', _gscns(2318, 1, 2395))),
    'n20': _fdd('n20', (791, 821), (832, 862), (158_200, 20, 164_200), SsRaster(15, 'A', _gscns(1982, 1, 2047))),
    'n28': _fdd('n28', (758, 803), (703, 748), (151_600, 20, 160_600), SsRaster(15, 'A', _gscns(1901, 1, 2002))),
    # n38 Case A: the GSCN set of the table's NOTE (Rel-17 onwards), no longer every GSCN of 6431..6544.
    'n38': _tdd('n38', (2570, 2620), ((100, 514_000, 20, 524_000),),
                SsRaster(15, 'A', (6432, 6443, 6457, 6468, 6479, 6493, 6507, 6518, 6532, 6543)),
                SsRaster(30, 'C', _gscns(6437, 1, 6538))),
    'n40': _tdd('n40', (2300, 2400), ((100, 460_000, 20, 480_000),), SsRaster(30, 'C', _gscns(5762, 1, 5989))),
    'n41': _tdd('n41', (2496, 2690), ((15, 499_200, 3, 537_999), (30, 499_200, 6, 537_996)),
                SsRaster(15, 'A', _gscns(6246, 3, 6717)), SsRaster(30, 'C', _gscns(6252, 3, 6714))),
    'n77': _tdd('n77', (3300, 4200), ((15, 620_000, 1, 680_000), (30, 620_000, 2, 680_000)),
                SsRaster(30, 'C', _gscns(7711, 1, 8329))),
    'n78': _tdd('n78', (3300, 3800), ((15, 620_000, 1, 653_333), (30, 620_000, 2, 653_332)),
                SsRaster(30, 'C', _gscns(7711, 1, 8051))),
    # n79: every 16th GSCN for channels of 40 MHz and more; the table's NOTE gives 8475..8884 for narrower ones.
    'n79': _tdd('n79', (4400, 5000), ((15, 693_334, 1, 733_333), (30, 693_334, 2, 733_332)),
                SsRaster(30, 'C', _gscns(8480, 16, 8880), (40.0, math.inf)),
                SsRaster(30, 'C', _gscns(8475, 1, 8884), (0.0, 40.0))),
}


@dataclasses.dataclass(frozen=True)
class SsbPlacement:
  """An SS/PBCH block on the synchronization raster inside a carrier.

  Attributes:
    gscn: its GSCN.
    ssb_centre_hz: SS_REF, absolute (subcarrier 120 of the block).
    offset_hz: SS_REF minus the carrier centre.
    first_subcarrier: carrier subcarrier of block subcarrier 0 (nr_source's `ssb_k0`), 0..12·N_RB-240.
    k_ssb: TS 38.211 §7.4.3.1 subcarrier offset in 15 kHz units, 0..23 (MIB ssb-SubcarrierOffset carries its 4
      LSBs, the PBCH payload bit a_(A+5) its MSB).
    offset_to_point_a: offsetToPointA of SIB1 in 15 kHz RBs (TS 38.211 §4.4.4.2).
    scs_khz: SS/PBCH block (and carrier) SCS.
    case: SS/PBCH block pattern (TS 38.213 §4.1).
  """
  gscn: int
  ssb_centre_hz: float
  offset_hz: float
  first_subcarrier: int
  k_ssb: int
  offset_to_point_a: int
  scs_khz: int
  case: str

  @property
  def rbs(self) -> tuple[int, int]:
    """Carrier RBs [first, end) the block overlaps; TS 38.211 §7.4.3.1 lets a UE assume their REs that the block
    does not use are zero in its symbols."""
    return self.first_subcarrier // N_SC, -(-(self.first_subcarrier + SSB_SUBCARRIERS) // N_SC)


def get_band(band: str | int) -> Band:
  """The `Band` of 'n78', 'N78' or 78; ValueError listing the bands tabulated here."""
  key = f'n{band}' if isinstance(band, (int, np.integer)) and not isinstance(band, bool) else \
      band.lower() if isinstance(band, str) else None
  if key not in BANDS:
    raise ValueError(f'band must be one of {list(BANDS)}, got {band!r}')
  return BANDS[key]


def _whole_hz(hz, what: str) -> int:
  """`hz` as an int, or ValueError when it is not a whole number of Hz."""
  if isinstance(hz, bool) or not isinstance(hz, (int, float, np.integer, np.floating)) or not math.isfinite(hz):
    raise ValueError(f'{what} must be a finite frequency in Hz, got {hz!r}')
  whole = round(hz)
  if abs(whole - hz) > _TOLERANCE_HZ:
    raise ValueError(f'{what}={hz!r} Hz is not on the raster (not a whole number of Hz)')
  return int(whole)


def _arfcn_hz(arfcn: np.ndarray) -> np.ndarray:
  """Int64 Hz of valid NR-ARFCNs (F_REF = F_REF-Offs + ΔF_Global·(N_REF - N_REF-Offs))."""
  out = np.zeros(arfcn.shape, np.int64)
  for _, _, f_offs, delta, n_offs, (first, last) in _ARFCN_ROWS:
    row = (arfcn >= first) & (arfcn <= last)
    out[row] = f_offs + delta * (arfcn[row] - n_offs)
  return out


def arfcn_to_hz(arfcn: int | np.ndarray) -> float | np.ndarray:
  """F_REF in Hz of an NR-ARFCN (int) or of an int array of them (TS 38.104 §5.4.2.1, FR1)."""
  values = np.asarray(arfcn)
  lo, hi = _ARFCN_ROWS[0][5][0], _ARFCN_ROWS[-1][5][1]
  if values.dtype == bool or not np.issubdtype(values.dtype, np.integer) or np.any(values < lo) or np.any(
      values > hi):
    raise ValueError(f'arfcn must be an integer NR-ARFCN in [{lo}, {hi}] (FR1, TS 38.104 Table 5.4.2.1-1), '
                     f'got {arfcn!r}')
  hz = _arfcn_hz(values.astype(np.int64)).astype(np.float64)
  return float(hz) if hz.ndim == 0 else hz


def hz_to_arfcn(hz: float) -> int:
  """The NR-ARFCN of F_REF = `hz`, or ValueError if `hz` is not on the global raster (5 kHz below 3 GHz, 15 kHz
  from 3 to 24.25 GHz)."""
  f = _whole_hz(hz, 'hz')
  for first_hz, end_hz, f_offs, delta, n_offs, (_, last) in _ARFCN_ROWS:
    if first_hz <= f < end_hz:
      n, rest = divmod(f - f_offs, delta)
      if rest or n + n_offs > last:
        raise ValueError(f'hz={hz!r} is not on the {delta / 1e3:g} kHz global frequency raster of '
                         f'{first_hz / 1e6:g}-{end_hz / 1e6:g} MHz (TS 38.104 Table 5.4.2.1-1)')
      return int(n + n_offs)
  raise ValueError(f'hz={hz!r} is outside FR1 NR-ARFCN range 0-24250 MHz (TS 38.104 Table 5.4.2.1-1)')


def _gscn_hz(gscn: np.ndarray) -> np.ndarray:
  """Int64 SS_REF in Hz of valid GSCNs (Table 5.4.3.1-1)."""
  gscn = gscn.astype(np.int64)
  low = gscn < _GSCN_3GHZ
  m = np.select([gscn % 3 == r for r in _M_OF_GSCN_MOD_3], list(_M_OF_GSCN_MOD_3.values()))
  n_low = (gscn - (m - 3) // 2) // 3
  return np.where(low, n_low * 1_200_000 + m * 50_000, 3_000_000_000 + (gscn - _GSCN_3GHZ) * 1_440_000)


def gscn_to_hz(gscn: int) -> float:
  """SS_REF in Hz of a GSCN (TS 38.104 Table 5.4.3.1-1), e.g. 7711 -> 3000 + 212·1.44 = 3305.28 MHz."""
  if isinstance(gscn, bool) or not isinstance(gscn, (int, np.integer)) or not \
      GSCN_RANGE[0] <= gscn <= GSCN_RANGE[1]:
    raise ValueError(f'gscn must be an int in [{GSCN_RANGE[0]}, {GSCN_RANGE[1]}] (FR1, TS 38.104 Table '
                     f'5.4.3.1-1), got {gscn!r}')
  return float(_gscn_hz(np.asarray(gscn)))


def hz_to_gscn(hz: float) -> int:
  """The GSCN whose SS_REF is exactly `hz`, or ValueError if `hz` is not on the synchronization raster."""
  f = _whole_hz(hz, 'hz')
  if 0 < f < 3_000_000_000:
    for m in (1, 3, 5):
      n, rest = divmod(f - m * 50_000, 1_200_000)
      if rest == 0 and 1 <= n <= 2499:
        return int(3 * n + (m - 3) // 2)
  elif 3_000_000_000 <= f <= 24_250_000_000:
    n, rest = divmod(f - 3_000_000_000, 1_440_000)
    if rest == 0 and n <= GSCN_RANGE[1] - _GSCN_3GHZ:
      return int(_GSCN_3GHZ + n)
  raise ValueError(f'hz={hz!r} is not an SS_REF of the FR1 synchronization raster (N·1200 kHz + M·50 kHz, '
                   'M in {1, 3, 5}, below 3 GHz; 3000 MHz + N·1.44 MHz up to 24.25 GHz; TS 38.104 Table 5.4.3.1-1)')


def _check_scs(scs_khz: int) -> int:
  if scs_khz not in nr.NR_N_RB:
    raise ValueError(f'scs_khz must be one of {sorted(nr.NR_N_RB)}, got {scs_khz!r}')
  return int(scs_khz)


def _raster_row(b: Band, scs_khz: int) -> tuple[int, int, int, int]:
  """The band's channel raster for a carrier SCS: ΔF_Raster = SCS where the band has one (TS 38.104 §5.4.2.3:
  the 30 kHz raster only for 30 kHz channels), else its 100 kHz raster."""
  rows = {row[0]: row for row in b.channel_raster}
  row = rows.get(scs_khz, rows.get(100))
  if row is None:
    raise ValueError(f'band {b.name} has no channel raster for scs_khz={scs_khz}; its rasters: {sorted(rows)} kHz')
  return row


def channel_raster(band: str | int, scs_khz: int, bandwidth_mhz: float | None = None) -> np.ndarray:
  """Downlink NR-ARFCNs of a band's channel raster (TS 38.104 Table 5.4.2.3-1) for a carrier SCS.

  Args:
    band: operating band, e.g. 'n78'.
    scs_khz: carrier subcarrier spacing, 15 or 30.
    bandwidth_mhz: if given, only the centres whose channel (centre ± bandwidth/2) lies inside the downlink band.

  Returns:
    int64 NR-ARFCNs in increasing order (`arfcn_to_hz` gives the carrier centres).
  """
  b = get_band(band)
  _, first, step, last = _raster_row(b, _check_scs(scs_khz))
  arfcns = np.arange(first, last + 1, step, dtype=np.int64)
  if bandwidth_mhz is not None:
    nr.n_rb_for(bandwidth_mhz, scs_khz)  # ValueError for a bandwidth Table 5.3.2-1 does not define
    half = round(float(bandwidth_mhz) * 1e6) // 2
    centres = _arfcn_hz(arfcns)
    lo, hi = b.dl_hz
    arfcns = arfcns[(centres - half >= lo) & (centres + half <= hi)]
  return arfcns


def _bandwidth_of(n_rb: int, scs_khz: int) -> float:
  table = {v: bw for bw, v in nr.NR_N_RB[scs_khz].items()}
  if isinstance(n_rb, bool) or n_rb not in table:
    raise ValueError(f'n_rb must be a transmission bandwidth of TS 38.104 Table 5.3.2-1 at {scs_khz} kHz, one of '
                     f'{sorted(table)}, got {n_rb!r}')
  return float(table[n_rb])


def ssb_placements(carrier_centre_hz: float, n_rb: int, scs_khz: int, band: str | int,
                   ssb_scs_khz: int | None = None) -> list[SsbPlacement]:
  """Every SS/PBCH block position of a band's synchronization raster that fits a carrier, in increasing GSCN.

  A GSCN qualifies when its 240-subcarrier block lies wholly inside the carrier's N_RB·12 subcarriers and its
  subcarriers coincide with the carrier's (SS_REF - F_REF is a whole number of SCS), so the block is orthogonal
  to the rest of the carrier. Conventions (centre subcarrier, point A, offsetToCarrier = 0): see the module
  docstring. The carrier itself need not be on the band's channel raster.

  Args:
    carrier_centre_hz: F_REF of the carrier (absolute Hz).
    n_rb: carrier width in RBs (TS 38.104 Table 5.3.2-1).
    scs_khz: carrier SCS, 15 or 30.
    band: operating band, e.g. 'n78'.
    ssb_scs_khz: SS/PBCH block SCS; default and only allowed value: `scs_khz` (nr_source renders the block on
      the carrier's grid, and a block of another numerology would not be orthogonal to it).

  Returns:
    `SsbPlacement`s; `first_subcarrier` is nr_source's `ssb_k0`.
  """
  b = get_band(band)
  scs_khz = _check_scs(scs_khz)
  bandwidth = _bandwidth_of(n_rb, scs_khz)
  ssb_scs_khz = scs_khz if ssb_scs_khz is None else ssb_scs_khz
  if ssb_scs_khz != scs_khz:
    raise ValueError(f'ssb_scs_khz must equal scs_khz={scs_khz} (the block is rendered on the carrier grid), '
                     f'got {ssb_scs_khz!r}')
  if scs_khz not in b.ssb_scs_khz:
    raise ValueError(f'band {b.name} has SS/PBCH blocks at {b.ssb_scs_khz} kHz only (TS 38.104 Table 5.4.3.3-1), '
                     f'not at scs_khz={scs_khz}')
  centre = round(float(carrier_centre_hz))
  if abs(centre - float(carrier_centre_hz)) > _TOLERANCE_HZ:
    return []  # no raster frequency is a whole number of SCS away from it
  scs = scs_khz * 1000
  out = []
  for entry in b.ss_raster:
    if entry.scs_khz != scs_khz or not entry.bandwidth_mhz[0] <= bandwidth < entry.bandwidth_mhz[1]:
      continue
    gscns = np.asarray(entry.gscns, np.int64)
    ss_ref = _gscn_hz(gscns)
    steps, rest = np.divmod(ss_ref - centre, scs)
    first = 6 * n_rb + steps - SSB_CENTRE_SUBCARRIER
    fits = (rest == 0) & (first >= 0) & (first + SSB_SUBCARRIERS <= N_SC * n_rb)
    per_15khz = scs_khz // 15  # k_SSB and offsetToPointA count 15 kHz units in FR1 (TS 38.211 §7.4.3.1)
    for g, f_ref, k0 in zip(gscns[fits], ss_ref[fits], first[fits]):
      out.append(SsbPlacement(
          gscn=int(g), ssb_centre_hz=float(f_ref), offset_hz=float(f_ref - centre), first_subcarrier=int(k0),
          k_ssb=int(k0 % N_SC) * per_15khz, offset_to_point_a=int(k0 // N_SC) * per_15khz, scs_khz=scs_khz,
          case=entry.case))
  return sorted(out, key=lambda p: p.gscn)


def draw_carrier(rng: np.random.Generator, band: str | int, bandwidth_mhz: float, scs_khz: int,
                 require_ssb: bool = True) -> float:
  """A carrier centre (Hz) drawn uniformly from the band's channel raster among those whose channel fits in the
  downlink band and, with `require_ssb`, that have at least one `ssb_placements` entry.

  Args:
    rng: numpy Generator (derive it from the caller's seed).
    band: operating band, e.g. 'n78'.
    bandwidth_mhz: channel bandwidth (TS 38.104 Table 5.3.2-1).
    scs_khz: carrier SCS, 15 or 30.
    require_ssb: only centres with an SS/PBCH block position on the synchronization raster.
  """
  if not isinstance(rng, np.random.Generator):
    raise ValueError(f'rng must be a numpy Generator, got {type(rng).__name__}')
  arfcns = channel_raster(band, scs_khz, bandwidth_mhz)
  b = get_band(band)
  if not len(arfcns):
    raise ValueError(f'bandwidth_mhz={bandwidth_mhz} does not fit band {b.name} ({b.dl_mhz[0]:g}-'
                     f'{b.dl_mhz[1]:g} MHz downlink)')
  if not require_ssb:
    return float(arfcn_to_hz(rng.choice(arfcns)))
  n_rb = nr.n_rb_for(bandwidth_mhz, scs_khz)
  for i in rng.permutation(len(arfcns)):  # uniform over the valid centres; usually ends after a few tries
    centre = float(arfcn_to_hz(arfcns[i]))
    if ssb_placements(centre, n_rb, scs_khz, b.name):
      return centre
  raise ValueError(f'no {bandwidth_mhz} MHz carrier at {scs_khz} kHz on the channel raster of band {b.name} '
                   'holds an SS/PBCH block of its synchronization raster')
