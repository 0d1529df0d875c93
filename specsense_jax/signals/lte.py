"""LTE FDD or TDD downlink (TS 36.211 / TS 36.101): resource grid with PSS, SSS, CRS, PBCH, PCFICH, PHICH, PDCCH
and PDSCH, OFDM-modulated at the requested sample rate.

PBCH, PDCCH and PDSCH carry random data symbols (the load the spectrogram sees); the reference and
synchronization signals, the PCFICH and the PHICH are bit-exact.
"""

from __future__ import annotations

import functools

import numpy as np

from specsense_jax.signals import counter_rng
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

N_SC = 12
N_RB_MAX = 110
# TS 36.101 Table 5.6-1: channel bandwidth (MHz) -> transmission bandwidth configuration N_RB.
LTE_N_RB = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}
# TS 36.101 Annex A.3.3 reference measurement channels used by the MathWorks example, by bandwidth.
RMC_PRESETS = {5: ('R.6', '64qam'), 10: ('R.2', 'qpsk'), 15: ('R.8', '64qam'), 20: ('R.9', '64qam')}
# TS 36.212 Table 5.3.4-1: the 32-bit CFI codewords.
_CFI_CODEWORDS = {cfi: np.resize(np.array(pattern, np.uint8), 32)
                  for cfi, pattern in {1: (0, 1, 1), 2: (1, 0, 1), 3: (1, 1, 0)}.items()}
# TS 36.211 Table 6.9.1-2: PHICH orthogonal sequences, normal CP.
_PHICH_W = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1],
                     [1j, 1j, 1j, 1j], [1j, -1j, 1j, -1j], [1j, 1j, -1j, -1j], [1j, -1j, -1j, 1j]])
_PHICH_NG = (1 / 6, 1 / 2, 1, 2)
LOADS = ('full', 'thinned', 'sparse', 'off')


def n_rb_for(bandwidth_mhz: float) -> int:
  """N_RB of an LTE channel bandwidth, or ValueError listing the defined bandwidths."""
  for bw, n_rb in LTE_N_RB.items():
    if abs(float(bandwidth_mhz) - bw) < 1e-9:
      return n_rb
  raise ValueError(f'bandwidth_mhz={bandwidth_mhz!r} is not an LTE channel bandwidth; allowed: '
                   f'{sorted(LTE_N_RB)} MHz')


def crs_port0(ncellid: int, n_rb: int, ns, l) -> tuple[np.ndarray, np.ndarray]:
  """Cell-specific reference signal of antenna port 0 in slot(s) `ns`, symbol(s) `l` (0 or 4); TS 36.211
  §6.10.1. `ns` and `l` may be arrays (broadcast together): the values then get their leading axes.

  Returns:
    (subcarrier indices k, complex64 values) for the 2·N_RB REs of each (ns, l).
  """
  ns, l = np.broadcast_arrays(np.asarray(ns, np.int64), np.asarray(l, np.int64))
  c_init = 2**10 * (7 * (ns + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + 1
  r = sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 4 * N_RB_MAX))
  m = np.arange(2 * n_rb)
  v = np.where(l == 0, 0, 3)[..., None]
  k = 6 * m + (v + ncellid % 6) % 6
  return k, r[..., m + N_RB_MAX - n_rb]


def _symbol0_reg_data_offsets(ncellid: int) -> np.ndarray:
  """Offsets (0..5) of the 4 data REs of a symbol-0 REG: RS positions of ports 0 and 1 are excluded."""
  offsets = np.arange(6)
  return offsets[(offsets - ncellid % 6) % 3 != 0]


def pcfich_reg_starts(ncellid: int, n_rb: int) -> np.ndarray:
  """First subcarrier of the 4 PCFICH REGs in symbol 0 (TS 36.211 §6.7.4)."""
  k_bar = (N_SC // 2) * (ncellid % (2 * n_rb))
  return (k_bar + (np.arange(4) * n_rb // 2) * (N_SC // 2)) % (n_rb * N_SC)


def pcfich_symbols(ncellid: int, ns, cfi: int) -> np.ndarray:
  """16 scrambled QPSK PCFICH symbols of the subframe of slot(s) `ns` (TS 36.211 §6.7.1-6.7.2)."""
  c_init = (np.asarray(ns) // 2 + 1) * (2 * ncellid + 1) * 2**9 + ncellid
  return sequences.qpsk_from_bits(_CFI_CODEWORDS[cfi] ^ sequences.gold_sequence(c_init, 32))


def phich_group_count(n_rb: int, ng: float) -> int:
  if not any(abs(ng - v) < 1e-9 for v in _PHICH_NG):
    raise ValueError(f'phich_ng must be one of 1/6, 1/2, 1, 2, got {ng!r}')
  return int(np.ceil(ng * n_rb / 8 - 1e-9))


def phich_reg_starts(ncellid: int, n_rb: int, group: int) -> np.ndarray:
  """First subcarrier of the 3 REGs of PHICH group `group`, normal duration (TS 36.211 §6.9.3)."""
  all_regs = np.arange(0, n_rb * N_SC, 6)
  free = np.setdiff1d(all_regs, pcfich_reg_starts(ncellid, n_rb))
  n0 = len(free)
  n_bar = (ncellid + group + np.arange(3) * n0 // 3) % n0
  return free[n_bar]


def phich_symbols(ncellid: int, ns: int, phichs) -> np.ndarray:
  """12 symbols of one PHICH group: the sum of its PHICHs, each given as (sequence index, HI bit).

  HI is repeated 3 times, BPSK-mapped ((1 + j)/sqrt(2) for 0), spread by the orthogonal sequence and
  scrambled (TS 36.211 §6.9.1), normal CP.
  """
  c_init = (ns // 2 + 1) * (2 * ncellid + 1) * 2**9 + ncellid
  c = sequences.gold_sequence(c_init, 12).astype(np.float64)
  out = np.zeros(12, np.complex128)
  i = np.arange(12)
  for seq, hi in phichs:
    z = (1 + 1j) / np.sqrt(2) * (1 - 2 * hi)
    out += _PHICH_W[seq][i % 4] * (1 - 2 * c) * z
  return out.astype(np.complex64)


ALL_CHANNELS = ('pss', 'sss', 'crs', 'pbch', 'pcfich', 'phich', 'pdcch', 'pdsch')


@functools.lru_cache(maxsize=16)
def _subframe_templates(ncellid: int, n_rb: int, cfi: int, phich_ng: float,
                        tdd: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
  """Per subframe number (0..9): the deterministic signals and the RE masks of the data channels.

  `tdd` is (ul_dl_config, special_subframe_config) for frame structure type 2, None for FDD.
  """
  n_sc = n_rb * N_SC
  k_all = np.arange(n_sc)
  centre = np.arange(n_sc // 2 - 36, n_sc // 2 + 36)  # the 72 subcarriers of PSS/SSS/PBCH
  v_shift = ncellid % 6
  reg0 = _symbol0_reg_data_offsets(ncellid)
  t = {name: np.zeros((10, 14, n_sc), np.complex64) for name in ('crs', 'pss', 'sss', 'pcfich')}
  reserved = np.zeros((10, 14, n_sc), bool)  # REs no data channel may use
  ns = 2 * np.arange(10)[:, None, None] + np.arange(2)[None, :, None]  # (sf, slot, 1)
  crs_k, crs_values = crs_port0(ncellid, n_rb, ns, np.array([0, 4])[None, None, :])  # (10, 2, 2, 2 N_RB)
  rows = (7 * np.arange(2)[:, None] + np.array([0, 4])[None, :])  # symbol of (slot, l)
  sf_idx = np.arange(10)[:, None, None, None]
  t['crs'][sf_idx, rows[None, :, :, None], crs_k] = crs_values
  reserved[sf_idx, rows[None, :, :, None], crs_k] = True
  # TS 36.211 §6.11.1.2, §6.11.2.2: frame structure type 1 puts PSS/SSS in symbols 6/5 of subframes 0 and 5.
  (pss_sfs, pss_l), (sss_sfs, sss_l) = (((0, 5), 6), ((0, 5), 5)) if tdd is None else (
      lte_tdd.PSS_POSITION, lte_tdd.SSS_POSITION)
  for sf_pss, sf_sss in zip(pss_sfs, sss_sfs):
    t['pss'][sf_pss, pss_l, centre[5:67]] = sequences.lte_pss(ncellid % 3)
    t['sss'][sf_sss, sss_l, centre[5:67]] = sequences.lte_sss(ncellid, sf_sss)
    reserved[sf_pss, pss_l, centre] = True
    reserved[sf_sss, sss_l, centre] = True
  pcfich_k = (pcfich_reg_starts(ncellid, n_rb)[:, None] + reg0).reshape(-1)
  control_len = np.full(10, cfi) if tdd is None else lte_tdd.control_symbols(cfi)
  for c in np.unique(control_len):  # the PCFICH sends each subframe's own control-region length
    sfs = np.flatnonzero(control_len == c)
    t['pcfich'][sfs[:, None], 0, pcfich_k] = pcfich_symbols(ncellid, 2 * sfs, int(c))
  reserved[:, 0, (k_all - v_shift) % 3 == 0] = True  # symbol-0 REGs also skip port-1 RS positions
  reserved[0, 7:11, centre[:, None]] = True
  pbch = np.zeros((14, n_sc), bool)  # subframe 0 only
  pbch[7:11, centre] = True
  pbch[7:9, centre[(centre - v_shift) % 3 == 0]] = False  # RS of ports 0-3 assumed
  n_group = phich_group_count(n_rb, phich_ng)
  phich_groups = np.full(10, n_group) if tdd is None else lte_tdd.phich_groups(tdd[0], n_group)
  groups = int(phich_groups.max())
  phich_regs = np.stack([phich_reg_starts(ncellid, n_rb, g) for g in range(groups)])  # (groups, 3)
  phich_k = (phich_regs[:, :, None] + reg0).reshape(groups, 12)
  pdcch = np.zeros((10, 14, n_sc), bool)
  for sf in range(10):  # PDCCH: the control region less the PCFICH and PHICH REGs of the subframe
    control = np.zeros(n_sc, bool)
    for k0 in np.concatenate([pcfich_reg_starts(ncellid, n_rb), phich_regs[:phich_groups[sf]].reshape(-1)]):
      control[k0:k0 + 6] = True
    pdcch[sf, :control_len[sf]] = True
    pdcch[sf, 0, control] = False
    pdcch[sf] &= ~reserved[sf]
  pdsch = np.arange(14)[None, :] >= control_len[:, None]  # (10, 14) symbols open to PDSCH
  if tdd is not None:  # no downlink energy in uplink subframes, the GP or the UpPTS
    downlink = lte_tdd.downlink_symbols(*tdd)
    for name in ('crs', 'pcfich'):
      t[name][~downlink] = 0
    pdcch &= downlink[:, :, None]
    pdsch = lte_tdd.pdsch_symbols(*tdd, cfi)
  phich_c = sequences.gold_sequence((np.arange(10) + 1) * (2 * ncellid + 1) * 2**9 + ncellid, 12)
  phich_c = phich_c.astype(np.float32)
  return dict(t, reserved=reserved, pbch=pbch, pdcch=pdcch, pdsch=pdsch, phich_k=phich_k, phich_c=phich_c,
              phich_groups=phich_groups)


def lte_rows(ncellid: int, n_rb: int, num_subframes: int, key: int, *, cfi: int = 2, phich_ng: float = 1,
             phich=None, pdsch_rbs: np.ndarray | None = None, modulation: str = 'qpsk', first_subframe: int = 0,
             channels=ALL_CHANNELS, duplex: str = 'fdd', ul_dl_config: int = 2, special_subframe_config: int = 7):
  """The row builder of an LTE port-0 resource grid (14·num_subframes rows, 12·n_rb subcarriers).

  Args:
    ncellid: physical cell identity, 0..503.
    n_rb: number of resource blocks.
    num_subframes: subframes in the grid.
    key: counter-RNG key of the random data symbols and PHICH contents.
    cfi: control format indicator (control symbols per subframe), 1..3.
    phich_ng: PHICH resource factor Ng.
    phich: {group: [(sequence, hi), ...]} used in every subframe; default one random PHICH per group.
    pdsch_rbs: (num_subframes, n_rb) bool, the RBs carrying PDSCH; default none.
    modulation: PDSCH modulation.
    first_subframe: subframe number (mod 10) of the first subframe; numbers the slots of the sequences.
    channels: physical channels and signals to include (subset of ALL_CHANNELS).
    duplex: 'fdd' (frame structure type 1) or 'tdd' (type 2, TS 36.211 §4.2).
    ul_dl_config: TDD uplink-downlink configuration 0..6 (Table 4.2-2); ignored for FDD.
    special_subframe_config: TDD special subframe configuration 0..9, normal CP (Table 4.2-1); ignored for FDD.

  Returns:
    rows(symbol_indices) -> complex64 rows; unused REs are exactly zero.
  """
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503] for LTE, got {ncellid}')
  if cfi not in (1, 2, 3):
    raise ValueError(f'cfi must be 1, 2 or 3, got {cfi}')
  unknown = set(channels) - set(ALL_CHANNELS)
  if unknown:
    raise ValueError(f'unknown channels {sorted(unknown)}; allowed: {ALL_CHANNELS}')
  lte_tdd.check_config(duplex, ul_dl_config, special_subframe_config)
  tdd = (int(ul_dl_config), int(special_subframe_config)) if duplex == 'tdd' else None
  t = _subframe_templates(int(ncellid), int(n_rb), int(cfi), float(phich_ng), tdd)
  n_sc = n_rb * N_SC
  groups = t['phich_k'].shape[0]
  static = sum((t[name] for name in ('crs', 'pss', 'sss', 'pcfich') if name in channels),
               np.zeros_like(t['crs']))  # a grid even when no static channel is chosen
  w = _PHICH_W[:, np.arange(12) % 4]
  if phich is not None:
    explicit = np.zeros((groups, 12), np.complex128)
    for g, contents in phich.items():
      for seq, hi in contents:
        explicit[g] += w[seq] * (1 - 2 * hi)

  static_active = static != 0

  def rows(symbols: np.ndarray, values: bool = True) -> np.ndarray:
    """Grid rows of `symbols`; with values=False only where they carry energy (bool), much cheaper."""
    symbols = np.asarray(symbols, np.int64)
    i, l = symbols // 14, symbols % 14
    sf = (first_subframe + i) % 10
    source = static if values else static_active
    out = source[sf, l]
    re_index = symbols[:, None] * n_sc + np.arange(n_sc) if values else None
    masks = []
    if 'pbch' in channels:
      masks.append((t['pbch'][l] & (sf == 0)[:, None], 'qpsk'))
    if 'pdcch' in channels:
      masks.append((t['pdcch'][sf, l], 'qpsk'))
    if 'pdsch' in channels and pdsch_rbs is not None:
      masks.append((np.repeat(pdsch_rbs[i], N_SC, axis=1) & t['pdsch'][sf, l][:, None] & ~t['reserved'][sf, l],
                    modulation))
    for mask, mod in masks:
      out[mask] = counter_rng.qam(key, re_index[mask], mod) if values else True
    first = np.flatnonzero(l == 0)
    # (row of `first`, group) of the PHICH groups the subframe sends (m_i of Table 6.9-1 in TDD)
    row, group = np.nonzero(np.arange(groups)[None, :] < t['phich_groups'][sf[first]][:, None])
    if 'phich' in channels and len(first) and not values:
      out[first[row][:, None], t['phich_k'][group]] = True
    elif 'phich' in channels and len(first):
      if phich is None:  # one PHICH per group: sequence and HI drawn per subframe and group
        draw = counter_rng.integers(key, -1 - (i[first, None] * groups + np.arange(groups)), 16)
        spread = w[draw % 8] * (1 - 2 * (draw // 8))[..., None]
      else:
        spread = np.broadcast_to(explicit, (len(first), groups, 12))
      z = (1 + 1j) / np.sqrt(2) * (1 - 2 * t['phich_c'][sf[first]])[:, None, :]
      values = (spread * z).astype(np.complex64)
      out[first[row][:, None], t['phich_k'][group]] = values[row, group]
    return out

  return rows


def lte_grid(ncellid: int, n_rb: int, num_subframes: int, *, seed=0, **kwargs) -> np.ndarray:
  """The whole (14·num_subframes, 12·n_rb) grid; `seed` keys the random data, kwargs as in `lte_rows`."""
  key = counter_rng.key_from(waveform_lib.seed_sequence(seed))
  return lte_rows(ncellid, n_rb, num_subframes, key, **kwargs)(np.arange(14 * num_subframes))


def draw_pdsch_allocation(rng: np.random.Generator, n_rb: int, num_subframes: int, load: str) -> np.ndarray:
  """PDSCH RBs per subframe, following the MathWorks example's load thinning.

  'full': every RB of every subframe. 'sparse': per subframe RBs {0, 1} plus 0-2 random RBs. 'off' (used by
  'thinned'): full allocation with 1-8 of the 10 subframes of a frame switched off, the same in every frame.
  'thinned' picks 'sparse' or switched-off subframes with equal probability.
  """
  if load not in LOADS:
    raise ValueError(f'load must be one of {LOADS}, got {load!r}')
  if load == 'thinned':
    load = 'sparse' if rng.random() < 0.5 else 'off'
  rbs = np.ones((num_subframes, n_rb), bool)
  if load == 'sparse':
    rbs[:] = False
    rbs[:, :2] = True
    for i in range(num_subframes):
      rbs[i, rng.choice(n_rb, size=int(rng.integers(0, 3)), replace=False)] = True
  elif load == 'off':
    off = rng.choice(10, size=int(rng.integers(1, 9)), replace=False)
    rbs[np.isin(np.arange(num_subframes) % 10, off)] = False
  return rbs


def lte_source(bandwidth_mhz: float, *, ncellid: int, seed, duration_s: float = 0.04,
               modulation: str | None = None, load: str = 'thinned', cfi: int = 2, phich_ng: float = 1,
               duplex: str = 'fdd', ul_dl_config: int = 2, special_subframe_config: int = 7
               ) -> waveform_lib.GridSource:
  """The LTE downlink of `lte_waveform` as a `GridSource` (rows built on demand); same arguments."""
  n_rb = n_rb_for(bandwidth_mhz)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  bw_key = int(bandwidth_mhz) if float(bandwidth_mhz).is_integer() else -1
  rmc, preset_modulation = RMC_PRESETS.get(bw_key, (None, 'qpsk'))
  modulation = modulation or preset_modulation
  if modulation not in sequences.MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(sequences.MODULATION_ORDERS)}, got {modulation!r}')
  draw_seq, data_seq = waveform_lib.seed_sequence(seed).spawn(2)
  rng = np.random.default_rng(draw_seq)
  num_subframes = int(np.ceil(duration_s * 1e3 - 1e-9))
  pdsch_rbs = draw_pdsch_allocation(rng, n_rb, num_subframes, load)
  rows = lte_rows(int(ncellid), n_rb, num_subframes, counter_rng.key_from(data_seq), cfi=cfi,
                  phich_ng=phich_ng, pdsch_rbs=pdsch_rbs, modulation=modulation, duplex=duplex,
                  ul_dl_config=ul_dl_config, special_subframe_config=special_subframe_config)
  params = {'standard': 'LTE', 'bandwidth_mhz': float(bandwidth_mhz), 'n_rb': n_rb, 'ncellid': int(ncellid),
            'rmc': rmc, 'modulation': modulation, 'load': load, 'cfi': cfi}
  if duplex == 'tdd':  # FDD params stay as they were (they are stored with existing datasets)
    params.update(duplex='tdd', ul_dl_config=int(ul_dl_config), special_subframe_config=int(special_subframe_config))
  return waveform_lib.GridSource(
      label='LTE', bandwidth_hz=float(bandwidth_mhz) * 1e6, num_subcarriers=n_rb * N_SC,
      num_symbols=14 * num_subframes, numerology_at=ofdm.lte_numerology, rows=rows, params=params)


def lte_waveform(bandwidth_mhz: float, *, ncellid: int, seed, sample_rate: float = 61.44e6,
                 duration_s: float = 0.04, **kwargs) -> waveform_lib.Waveform:
  """An LTE FDD or TDD downlink waveform (one antenna port), clean and centred at 0 Hz.

  Args:
    bandwidth_mhz: channel bandwidth, one of 1.4, 3, 5, 10, 15, 20.
    ncellid: physical cell identity 0..503.
    seed: seed (int, ints or numpy SeedSequence) of every random draw.
    sample_rate: output rate; direct synthesis when it is a multiple of 1.92 MHz, else resampled.
    duration_s: waveform length.
    **kwargs: options of `lte_source`: modulation (PDSCH; default from the RMC preset of the bandwidth,
      R.6/R.2/R.8/R.9, else QPSK), load ('thinned' default, 'full', 'sparse', 'off'; see
      `draw_pdsch_allocation`), cfi (2), phich_ng (1), duplex ('fdd' default, or 'tdd': frame structure
      type 2, TS 36.211 §4.2), ul_dl_config (TDD uplink-downlink configuration 0..6, default 2) and
      special_subframe_config (0..9, normal CP, default 7). In TDD, uplink subframes and the GP and UpPTS of
      special subframes are exactly zero, PSS/SSS sit in symbol 2 of subframes 1, 6 / symbol 13 of subframes
      0, 5, and the PHICH groups of each subframe follow m_i of Table 6.9-1.

  Returns:
    A `Waveform` labelled 'LTE'.
  """
  source = lte_source(bandwidth_mhz, ncellid=ncellid, seed=seed, duration_s=duration_s, **kwargs)
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  if source.num_subcarriers * 15e3 > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth of a '
                     f'{bandwidth_mhz} MHz LTE carrier')
  return source.waveform(sample_rate, int(round(duration_s * sample_rate)))
