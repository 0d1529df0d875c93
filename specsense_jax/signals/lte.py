"""LTE FDD or TDD downlink (TS 36.211 / TS 36.101): resource grid with PSS, SSS, CRS, PBCH, PCFICH, PHICH, PDCCH
and PDSCH on 1, 2 or 4 antenna ports, OFDM-modulated at the requested sample rate.

The PBCH carries the cell's coded MIB (bandwidth, PHICH N_g, SFN, port count; `lte_pbch`); PDCCH and PDSCH
carry random data symbols (the load the spectrogram sees); the reference and synchronization signals, the PCFICH
and the PHICH are bit-exact. Control-region helpers live in `lte_control`,
the traffic of the 'idle'..'heavy' loads in `lte_traffic`.
"""

from __future__ import annotations

import functools

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import counter_rng
from specsense_jax.signals import lte_control
from specsense_jax.signals import lte_crs
from specsense_jax.signals import lte_pbch
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import lte_traffic
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

N_SC = 12
N_RB_MAX = lte_crs.N_RB_MAX
# TS 36.101 Table 5.6-1: channel bandwidth (MHz) -> transmission bandwidth configuration N_RB.
LTE_N_RB = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}
# TS 36.101 Annex A.3.3 reference measurement channels used by the MathWorks example, by bandwidth.
RMC_PRESETS = {5: ('R.6', '64qam'), 10: ('R.2', 'qpsk'), 15: ('R.8', '64qam'), 20: ('R.9', '64qam')}
LOADS = ('full', 'thinned', 'sparse', 'off')  # the MathWorks example's PDSCH loads (`draw_pdsch_allocation`)
ALL_LOADS = LOADS + lte_traffic.LOADS
NUM_PORTS = (1, 2, 4)
# TS 36.211 §6.10.1.2: symbols l of each slot carrying the cell-specific RS of each antenna port.
CRS_SYMBOLS = {0: (0, 4), 1: (0, 4), 2: (1,), 3: (1,)}
_PORT_STRIDE = 2**40  # counter-RNG index offset between the random data of antenna ports
# The control-region helpers, under their old names.
pcfich_reg_starts = lte_control.pcfich_reg_starts
pcfich_symbols = lte_control.pcfich_symbols
phich_group_count = lte_control.phich_group_count
phich_reg_starts = lte_control.phich_reg_starts
phich_symbols = lte_control.phich_symbols


def n_rb_for(bandwidth_mhz: float) -> int:
  """N_RB of an LTE channel bandwidth, or ValueError listing the defined bandwidths."""
  for bw, n_rb in LTE_N_RB.items():
    if abs(float(bandwidth_mhz) - bw) < 1e-9:
      return n_rb
  raise ValueError(f'bandwidth_mhz={bandwidth_mhz!r} is not an LTE channel bandwidth; allowed: '
                   f'{sorted(LTE_N_RB)} MHz')


def crs(ncellid: int, n_rb: int, port: int, ns, l) -> tuple[np.ndarray, np.ndarray]:
  """Cell-specific reference signal of antenna `port` in slot(s) `ns`, symbol(s) `l` of the slot (TS 36.211
  §6.10.1): k = 6m + (v + N_ID mod 6) mod 6 with v = 0 / 3 (port 0, l = 0 / 4), 3 / 0 (port 1), 3(ns mod 2)
  (port 2, l = 1), 3 + 3(ns mod 2) (port 3, l = 1); the sequence depends on (ns, l) only. `ns` and `l` may be
  arrays (broadcast together): the values then get their leading axes.

  Returns:
    (subcarrier indices k, complex64 values) for the 2·N_RB REs of each (ns, l).
  """
  r = lte_crs.sequence(ncellid, ns, l)
  m = np.arange(2 * n_rb)
  k = 6 * m + lte_crs.subcarrier_offset(ncellid, port, ns, l)[..., None]
  return k, r[..., m + N_RB_MAX - n_rb]


def crs_port0(ncellid: int, n_rb: int, ns, l) -> tuple[np.ndarray, np.ndarray]:
  """`crs` of antenna port 0 (symbols l = 0 and 4 of a slot)."""
  return crs(ncellid, n_rb, 0, ns, l)


ALL_CHANNELS = ('pss', 'sss', 'crs', 'pbch', 'pcfich', 'phich', 'pdcch', 'pdsch')


@functools.lru_cache(maxsize=8)
def _subframe_templates(ncellid: int, n_rb: int, cfi: int, phich_ng: float, tdd: tuple[int, int] | None = None,
                        num_ports: int = 1) -> dict[str, np.ndarray]:
  """Per subframe number (0..9): the deterministic signals (crs and pcfich per port) and the RE masks of the
  data channels. `tdd` is (ul_dl_config, special_subframe_config) for frame structure type 2, None for FDD.
  """
  n_sc = n_rb * N_SC
  k_all = np.arange(n_sc)
  centre = np.arange(n_sc // 2 - 36, n_sc // 2 + 36)  # the 72 subcarriers of PSS/SSS/PBCH
  v_shift = ncellid % 6
  reg0 = lte_control.symbol0_reg_data_offsets(ncellid)
  t = {name: np.zeros((10, 14, n_sc), np.complex64) for name in ('pss', 'sss')}
  t.update({name: np.zeros((num_ports, 10, 14, n_sc), np.complex64) for name in ('crs', 'pcfich')})
  reserved = np.zeros((10, 14, n_sc), bool)  # REs no data channel may use: RS of every port, PSS/SSS, PBCH
  ns = 2 * np.arange(10)[:, None, None] + np.arange(2)[None, :, None]  # (sf, slot, 1)
  sf_idx = np.arange(10)[:, None, None, None]
  for port in range(num_ports):
    l = np.array(CRS_SYMBOLS[port])
    crs_k, crs_values = crs(ncellid, n_rb, port, ns, l[None, None, :])  # (10, 2, len(l), 2 N_RB)
    rows = 7 * np.arange(2)[:, None] + l[None, :]  # symbol of (slot, l)
    t['crs'][port, sf_idx, rows[None, :, :, None], crs_k] = crs_values
    reserved[sf_idx, rows[None, :, :, None], crs_k] = True
  # TS 36.211 §6.11.1.2, §6.11.2.2: frame structure type 1 puts PSS/SSS in symbols 6/5 of subframes 0 and 5.
  (pss_sfs, pss_l), (sss_sfs, sss_l) = (((0, 5), 6), ((0, 5), 5)) if tdd is None else (
      lte_tdd.PSS_POSITION, lte_tdd.SSS_POSITION)
  for sf_pss, sf_sss in zip(pss_sfs, sss_sfs):
    t['pss'][sf_pss, pss_l, centre[5:67]] = sequences.lte_pss(ncellid % 3)
    t['sss'][sf_sss, sss_l, centre[5:67]] = sequences.lte_sss(ncellid, sf_sss)
    reserved[sf_pss, pss_l, centre] = True
    reserved[sf_sss, sss_l, centre] = True
  pcfich_k = (lte_control.pcfich_reg_starts(ncellid, n_rb)[:, None] + reg0).reshape(-1)
  control_len = np.full(10, cfi) if tdd is None else lte_tdd.control_symbols(cfi)
  for c in np.unique(control_len):  # the PCFICH sends each subframe's own control-region length
    sfs = np.flatnonzero(control_len == c)
    t['pcfich'][:, sfs[:, None], 0, pcfich_k] = lte_control.transmit_diversity(
        lte_control.pcfich_symbols(ncellid, 2 * sfs, int(c)), num_ports)
  reserved[:, 0, (k_all - v_shift) % 3 == 0] = True  # symbol-0 REGs also skip port-1 RS positions
  reserved[0, 7:11, centre[:, None]] = True
  pbch = np.zeros((14, n_sc), bool)  # subframe 0 only
  pbch[7:11, centre] = True
  pbch[7:9, centre[(centre - v_shift) % 3 == 0]] = False  # RS of ports 0-3 assumed
  n_group = lte_control.phich_group_count(n_rb, phich_ng)
  phich_groups = np.full(10, n_group) if tdd is None else lte_tdd.phich_groups(tdd[0], n_group)
  groups = int(phich_groups.max())
  phich_regs = np.stack([lte_control.phich_reg_starts(ncellid, n_rb, g) for g in range(groups)])  # (groups, 3)
  phich_k = (phich_regs[:, :, None] + reg0).reshape(groups, 12)
  downlink = np.ones((10, 14), bool) if tdd is None else lte_tdd.downlink_symbols(*tdd)
  pdcch = np.zeros((10, 14, n_sc), bool)
  cce_res = []  # per subframe: (N_CCE, 36) REs (l·n_sc + k) of each CCE, TS 36.211 §6.8.5
  for sf in range(10):  # PDCCH: the control region less the PCFICH and PHICH REGs of the subframe
    blocked = np.concatenate([lte_control.pcfich_reg_starts(ncellid, n_rb), phich_regs[:phich_groups[sf]].reshape(-1)])
    control = np.zeros(n_sc, bool)
    for k0 in blocked:
      control[k0:k0 + 6] = True
    pdcch[sf, :control_len[sf]] = True
    pdcch[sf, 0, control] = False
    pdcch[sf] &= ~reserved[sf]
    reg_l, reg_k0, reg_k = lte_control.control_regs(ncellid, n_rb, int(control_len[sf]), num_ports)
    free = ~((reg_l == 0) & np.isin(reg_k0, blocked))
    cces = lte_control.cce_regs(ncellid, int(free.sum())) if downlink[sf, 0] else np.zeros((0, 9), np.int64)
    cce_res.append((reg_l[free][:, None] * n_sc + reg_k[free])[cces].reshape(len(cces), 36))
  pdsch = np.arange(14)[None, :] >= control_len[:, None]  # (10, 14) symbols open to PDSCH
  if tdd is not None:  # no downlink energy in uplink subframes, the GP or the UpPTS
    for name in ('crs', 'pcfich'):
      t[name][:, ~downlink] = 0
    pdcch &= downlink[:, :, None]
    pdsch = lte_tdd.pdsch_symbols(*tdd, cfi)
  phich_c = sequences.gold_sequence((np.arange(10) + 1) * (2 * ncellid + 1) * 2**9 + ncellid, 12)
  phich_c = phich_c.astype(np.float32)
  phich_active = np.abs(lte_control.phich_precode(np.ones((groups, 12)), num_ports, np.arange(groups))) > 0
  return dict(t, reserved=reserved, pbch=pbch, pdcch=pdcch, pdsch=pdsch, phich_k=phich_k, phich_c=phich_c,
              phich_groups=phich_groups, phich_active=phich_active, cce_res=cce_res,
              n_cce=np.array([len(c) for c in cce_res]))


def _check(ncellid: int, cfi: int, duplex: str, ul_dl_config: int, special_subframe_config: int,
           num_ports: int) -> tuple[int, int] | None:
  """Validates the cell options (ValueError naming the parameter); the `tdd` key of the templates."""
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503] for LTE, got {ncellid}')
  if cfi not in (1, 2, 3):
    raise ValueError(f'cfi must be 1, 2 or 3, got {cfi}')
  if isinstance(num_ports, bool) or num_ports not in NUM_PORTS:
    raise ValueError(f'num_ports must be one of {NUM_PORTS} (cell-specific RS antenna ports, TS 36.211 §6.10.1), '
                     f'got {num_ports!r}')
  lte_tdd.check_config(duplex, ul_dl_config, special_subframe_config)
  return (int(ul_dl_config), int(special_subframe_config)) if duplex == 'tdd' else None


def frame_layout(ncellid: int, n_rb: int, *, cfi: int, phich_ng: float = 1, duplex: str = 'fdd',
                 ul_dl_config: int = 2, special_subframe_config: int = 7, num_ports: int = 1
                 ) -> lte_traffic.FrameLayout:
  """What each subframe number of the cell allows the scheduler (CCEs, PDSCH, UL grants, paging occasion)."""
  tdd = _check(ncellid, cfi, duplex, ul_dl_config, special_subframe_config, num_ports)
  t = _subframe_templates(int(ncellid), int(n_rb), int(cfi), float(phich_ng), tdd, int(num_ports))
  # UL grants: FDD any subframe; TDD the subframes of TS 36.213 Table 8-2, those with PHICH in Table 6.9-1.
  ul = np.ones(10, bool) if tdd is None else np.asarray(lte_tdd.PHICH_M[tdd[0]]) > 0
  return lte_traffic.FrameLayout(n_cce=tuple(int(n) for n in t['n_cce']),
                                 pdsch=tuple(bool(p) for p in t['pdsch'].any(axis=1)),
                                 ul_grants=tuple(bool(u) for u in ul), paging_subframe=9 if tdd is None else 0)


def lte_port_rows(ncellid: int, n_rb: int, num_subframes: int, key: int, *, cfi: int = 2, phich_ng: float = 1,
                  phich=None, pdsch_rbs: np.ndarray | None = None, modulation: str = 'qpsk', first_subframe: int = 0,
                  channels=ALL_CHANNELS, duplex: str = 'fdd', ul_dl_config: int = 2,
                  special_subframe_config: int = 7, num_ports: int = 1, crs_boost_db: float = 0.0,
                  pdcch_cces: np.ndarray | None = None, si_rbs: np.ndarray | None = None, sfn0: int = 0) -> tuple:
  """The row builders of the resource grid of each antenna port (14·num_subframes rows, 12·n_rb subcarriers).

  Args:
    ncellid: physical cell identity, 0..503.
    n_rb: number of resource blocks.
    num_subframes: subframes in the grid.
    key: counter-RNG key of the random data symbols and PHICH contents.
    cfi: control format indicator (control symbols per subframe), 1..3.
    phich_ng: PHICH resource factor Ng.
    phich: {group: [(sequence, hi), ...]} used in every subframe; default one random PHICH per group.
    pdsch_rbs: (num_subframes, n_rb) bool, the RBs carrying PDSCH (in `modulation`); default none.
    modulation: PDSCH modulation.
    first_subframe: subframe number (mod 10) of the first subframe; numbers the slots of the sequences.
    channels: physical channels and signals to include (subset of ALL_CHANNELS).
    duplex: 'fdd' (frame structure type 1) or 'tdd' (type 2, TS 36.211 §4.2).
    ul_dl_config: TDD uplink-downlink configuration 0..6 (Table 4.2-2); ignored for FDD.
    special_subframe_config: TDD special subframe configuration 0..9, normal CP (Table 4.2-1); ignored for FDD.
    num_ports: cell-specific RS antenna ports, 1, 2 or 4. The CRS of each port sits on its own REs (§6.10.1.2),
      which no port uses for anything else; PSS/SSS go on port 0; PCFICH and PHICH are transmit-diversity
      precoded (§6.3.4.3, §6.9.2), and so is the PBCH (its coded MIB, TS 36.211 §6.6); PDCCH and PDSCH carry
      independent random symbols on each port at 1/num_ports of the RE power.
    crs_boost_db: CRS EPRE over the data EPRE, dB.
    pdcch_cces: (num_subframes, >= N_CCE) bool, the CCEs of the DCIs sent; default the whole PDCCH region.
    si_rbs: (num_subframes, n_rb) bool, RBs of QPSK PDSCH (system information, paging); default none.
    sfn0: system frame number of the radio frame holding the first subframe (the PBCH's SFN counts from it).

  Returns:
    One builder per port: rows(symbol_indices, values=True) -> complex64 rows (or, with values=False, a bool map
    of the REs that carry energy); unused REs are exactly zero.
  """
  tdd = _check(ncellid, cfi, duplex, ul_dl_config, special_subframe_config, num_ports)
  unknown = set(channels) - set(ALL_CHANNELS)
  if unknown:
    raise ValueError(f'unknown channels {sorted(unknown)}; allowed: {ALL_CHANNELS}')
  t = _subframe_templates(int(ncellid), int(n_rb), int(cfi), float(phich_ng), tdd, int(num_ports))
  n_sc = n_rb * N_SC
  groups = t['phich_k'].shape[0]
  w = lte_control.PHICH_W[:, np.arange(12) % 4]
  if phich is not None:
    explicit = np.zeros((groups, 12), np.complex128)
    for g, contents in phich.items():
      for seq, hi in contents:
        explicit[g] += w[seq] * (1 - 2 * hi)
  pdcch_map = None
  if pdcch_cces is not None:  # the REs of the CCEs sent, (num_subframes, 3 control symbols, n_sc)
    pdcch_map = np.zeros((num_subframes, 3 * n_sc), bool)
    for i in range(num_subframes):
      sf = (first_subframe + i) % 10
      pdcch_map[i, t['cce_res'][sf][np.flatnonzero(pdcch_cces[i, :t['n_cce'][sf]])].reshape(-1)] = True
    pdcch_map = pdcch_map.reshape(num_subframes, 3, n_sc)
  scale = None if num_ports == 1 else np.float32(1 / np.sqrt(num_ports))
  if not 0 <= sfn0 < 1024:
    raise ValueError(f'sfn0 must be a system frame number 0..1023, got {sfn0!r}')

  @functools.lru_cache(maxsize=8)
  def pbch_rows(sfn: int) -> np.ndarray:
    """(num_ports, 4, n_sc) the PBCH of the radio frame numbered `sfn` in symbols 7..10 of subframe 0."""
    mib = lte_pbch.Mib(n_rb, 'normal', phich_ng, sfn=sfn % 1024, num_ports=num_ports)
    out = np.zeros((num_ports, 4, n_sc), np.complex64)
    out[:, t['pbch'][7:11]] = lte_pbch.pbch_symbols(mib, ncellid)  # subcarrier first, then symbol
    return out

  boost = None if crs_boost_db == 0 else np.float32(portable_math.db_to_amplitude(crs_boost_db))

  def make(port: int):
    crs_grid = t['crs'][port] if boost is None else t['crs'][port] * boost
    parts = {'crs': crs_grid, 'pss': t['pss'], 'sss': t['sss'], 'pcfich': t['pcfich'][port]}
    static = sum((parts[name] for name in ('crs', 'pss', 'sss', 'pcfich') if name in channels
                  and (port == 0 or name not in ('pss', 'sss'))),
                 np.zeros_like(t['pss']))  # a grid even when no static channel is chosen
    static_active = static != 0
    static_power = np.sum(portable_math.abs2(static), axis=2)  # (10, 14): exact, constant-modulus or zero REs

    def masks_of(symbols, i, l, sf):
      """(mask, modulation) of the random-data channels in the rows of `symbols`."""
      masks = []
      if 'pbch' in channels:
        masks.append((t['pbch'][l] & (sf == 0)[:, None], 'pbch'))
      if 'pdcch' in channels and pdcch_map is None:
        masks.append((t['pdcch'][sf, l], 'qpsk'))
      elif 'pdcch' in channels:
        control = np.zeros((len(symbols), n_sc), bool)
        early = l < 3
        control[early] = pdcch_map[i[early], l[early]]
        masks.append((control & t['pdcch'][sf, l], 'qpsk'))
      for rbs, mod in ((pdsch_rbs, modulation), (si_rbs, 'qpsk')):
        if 'pdsch' in channels and rbs is not None:
          masks.append((np.repeat(rbs[i], N_SC, axis=1) & t['pdsch'][sf, l][:, None] & ~t['reserved'][sf, l], mod))
      return masks

    def phich_of(i, sf, first):
      """(row of `first`, group, (len(first), groups, 12) values of this port) of the PHICH groups sent."""
      # (row of `first`, group) of the PHICH groups the subframe sends (m_i of Table 6.9-1 in TDD)
      row, group = np.nonzero(np.arange(groups)[None, :] < t['phich_groups'][sf[first]][:, None])
      if phich is None:  # one PHICH per group: sequence and HI drawn per subframe and group
        draw = counter_rng.integers(key, -1 - (i[first, None] * groups + np.arange(groups)), 16)
        spread = w[draw % 8] * (1 - 2 * (draw // 8))[..., None]
      else:
        spread = np.broadcast_to(explicit, (len(first), groups, 12))
      z = (1 + 1j) / np.sqrt(2) * (1 - 2 * t['phich_c'][sf[first]])[:, None, :]
      values = (spread * z).astype(np.complex64)
      if num_ports > 1:
        values = lte_control.phich_precode(values, num_ports, np.arange(groups))[port]
      return row, group, values

    def rows(symbols: np.ndarray, values: bool = True) -> np.ndarray:
      """Grid rows of `symbols`; with values=False only where they carry energy (bool), much cheaper."""
      symbols = np.asarray(symbols, np.int64)
      i, l = symbols // 14, symbols % 14
      sf = (first_subframe + i) % 10
      source = static if values else static_active
      out = source[sf, l]
      re_index = symbols[:, None] * n_sc + np.arange(n_sc) + port * _PORT_STRIDE if values else None
      for mask, mod in masks_of(symbols, i, l, sf):
        if mod == 'pbch':  # with 4 ports each SFBC pair uses two of them: activity from the values
          for r in np.flatnonzero(mask.any(axis=1)):
            pbch = pbch_rows(int(sfn0 + (first_subframe + i[r]) // 10) % 1024)[port, l[r] - 7, mask[r]]
            out[r, mask[r]] = pbch if values else pbch != 0
        elif not values:
          out[mask] = True
        elif scale is None:
          out[mask] = counter_rng.qam(key, re_index[mask], mod)
        else:
          out[mask] = counter_rng.qam(key, re_index[mask], mod) * scale
      first = np.flatnonzero(l == 0)
      if 'phich' in channels and len(first) and not values:
        row, group = np.nonzero(np.arange(groups)[None, :] < t['phich_groups'][sf[first]][:, None])
        out[first[row][:, None], t['phich_k'][group]] = t['phich_active'][port, group]
      elif 'phich' in channels and len(first):
        row, group, phich_values = phich_of(i, sf, first)
        out[first[row][:, None], t['phich_k'][group]] = phich_values[row, group]
      return out

    def symbol_power() -> np.ndarray:
      """(14·num_subframes,) expected mean power per symbol of this port (see `GridSource.symbol_power`): the
      static signals and the PHICH exactly, random QAM at unit power times scale²; no values drawn but the PHICH's."""
      symbols = np.arange(14 * num_subframes)
      i, l = symbols // 14, symbols % 14
      sf = (first_subframe + i) % 10
      power = static_power[sf, l].astype(np.float64)
      data = sum((np.count_nonzero(mask, axis=1) for mask, _ in masks_of(symbols, i, l, sf)), np.zeros(len(symbols)))
      power += data * (1.0 if scale is None else float(scale) * float(scale))
      first = np.flatnonzero(l == 0)
      if 'phich' in channels and len(first):
        row, group, phich_values = phich_of(i, sf, first)
        np.add.at(power, first[row], np.sum(portable_math.abs2(phich_values[row, group]), axis=1))
      return power / n_sc

    rows.symbol_power = symbol_power  # the port's own power: scene scales each port through its own channel
    return rows

  return tuple(make(port) for port in range(num_ports))


def sum_rows(builders) -> object:
  """One row builder from per-port ones: the sum of the ports' values, or the union of their activity."""
  if len(builders) == 1:
    return builders[0]

  def rows(symbols: np.ndarray, values: bool = True) -> np.ndarray:
    parts = [build(symbols, values) for build in builders]
    return functools.reduce(np.add if values else np.logical_or, parts)

  return rows


def lte_rows(ncellid: int, n_rb: int, num_subframes: int, key: int, **kwargs):
  """The row builder of the whole LTE resource grid: the sum over the antenna ports of `lte_port_rows` (same
  arguments; one port by default), rows(symbol_indices, values=True) -> complex64 rows."""
  return sum_rows(lte_port_rows(ncellid, n_rb, num_subframes, key, **kwargs))


def lte_grid(ncellid: int, n_rb: int, num_subframes: int, *, seed=0, **kwargs) -> np.ndarray:
  """The whole (14·num_subframes, 12·n_rb) grid; `seed` keys the random data, kwargs as in `lte_port_rows`."""
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
               modulation: str | None = None, load: str = 'thinned', cfi: int | None = None, phich_ng: float = 1,
               duplex: str = 'fdd', ul_dl_config: int = 2, special_subframe_config: int = 7, num_ports: int = 1,
               crs_boost_db: float | None = None) -> waveform_lib.GridSource:
  """The LTE downlink of `lte_waveform` as a `GridSource` (rows built on demand); same arguments.

  With several ports, `rows` is the sum of the ports' grids and `port_rows` holds one builder per port.
  """
  n_rb = n_rb_for(bandwidth_mhz)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  bw_key = int(bandwidth_mhz) if float(bandwidth_mhz).is_integer() else -1
  rmc, preset_modulation = RMC_PRESETS.get(bw_key, (None, 'qpsk'))
  modulation = modulation or preset_modulation
  if modulation not in sequences.MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(sequences.MODULATION_ORDERS)}, got {modulation!r}')
  if load not in ALL_LOADS:
    raise ValueError(f'load must be one of {ALL_LOADS}, got {load!r}')
  if crs_boost_db is not None:
    crs_boost_db = lte_traffic.check_crs_boost(crs_boost_db)
  cell_kwargs = dict(phich_ng=phich_ng, duplex=duplex, ul_dl_config=ul_dl_config,
                     special_subframe_config=special_subframe_config, num_ports=num_ports)
  _check(int(ncellid), 2 if cfi is None else cfi, duplex, ul_dl_config, special_subframe_config, num_ports)
  draw_seq, data_seq = waveform_lib.seed_sequence(seed).spawn(2)
  rng = np.random.default_rng(draw_seq)
  num_subframes = int(np.ceil(duration_s * 1e3 - 1e-9))
  extra = {}
  if load in LOADS:  # the MathWorks loads keep their draws and bytes
    plan = dict(pdsch_rbs=draw_pdsch_allocation(rng, n_rb, num_subframes, load))
    cfi = 2 if cfi is None else cfi
    if crs_boost_db is not None:
      extra['crs_boost_db'] = crs_boost_db
  else:
    cell = lte_traffic.draw_cell(rng, load, n_rb, cfi=cfi, crs_boost_db=crs_boost_db)
    cfi, crs_boost_db = cell.cfi, cell.crs_boost_db
    layout = frame_layout(int(ncellid), n_rb, cfi=cfi, **cell_kwargs)
    schedule = lte_traffic.draw_schedule(cell, layout, n_rb, num_subframes)
    plan = dict(pdsch_rbs=schedule.pdsch_rbs, si_rbs=schedule.si_rbs, pdcch_cces=schedule.pdcch_cces)
    extra = dict(crs_boost_db=cell.crs_boost_db, sfn0=cell.sfn0, pdsch_share=schedule.pdsch_share)
  builders = lte_port_rows(int(ncellid), n_rb, num_subframes, counter_rng.key_from(data_seq), cfi=cfi,
                           modulation=modulation, crs_boost_db=crs_boost_db or 0.0, sfn0=extra.get('sfn0', 0),
                           **plan, **cell_kwargs)
  params = {'standard': 'LTE', 'bandwidth_mhz': float(bandwidth_mhz), 'n_rb': n_rb, 'ncellid': int(ncellid),
            'rmc': rmc, 'modulation': modulation, 'load': load, 'cfi': cfi}
  if duplex == 'tdd':  # FDD params stay as they were (they are stored with existing datasets)
    params.update(duplex='tdd', ul_dl_config=int(ul_dl_config), special_subframe_config=int(special_subframe_config))
  if num_ports != 1:
    params['num_ports'] = int(num_ports)
  params.update(extra)
  return waveform_lib.GridSource(
      label='LTE', bandwidth_hz=float(bandwidth_mhz) * 1e6, num_subcarriers=n_rb * N_SC,
      num_symbols=14 * num_subframes, numerology_at=ofdm.lte_numerology, rows=sum_rows(builders), params=params,
      port_rows=builders if num_ports > 1 else (),
      symbol_power=lambda: sum(build.symbol_power() for build in builders))


def lte_waveform(bandwidth_mhz: float, *, ncellid: int, seed, sample_rate: float = 61.44e6,
                 duration_s: float = 0.04, **kwargs) -> waveform_lib.Waveform:
  """An LTE FDD or TDD downlink waveform, clean and centred at 0 Hz (the sum of its antenna ports).

  Args:
    bandwidth_mhz: channel bandwidth, one of 1.4, 3, 5, 10, 15, 20.
    ncellid: physical cell identity 0..503.
    seed: seed (int, ints or numpy SeedSequence) of every random draw.
    sample_rate: output rate; direct synthesis when it is a multiple of 1.92 MHz, else resampled.
    duration_s: waveform length.
    **kwargs: options of `lte_source`:
      modulation: PDSCH modulation; default from the RMC preset of the bandwidth (R.6/R.2/R.8/R.9), else QPSK.
      load: 'thinned' (default), 'full', 'sparse', 'off': the MathWorks example's PDSCH thinning (see
        `draw_pdsch_allocation`; the control region is full). 'idle', 'light', 'medium', 'heavy': realistic
        cells (see `lte_traffic`): PDCCH only on the CCEs of the DCIs sent, SIB1 in subframe 5 of even frames,
        SI messages in their windows, paging, and for the last three unicast PDSCH over 5-30 %, 30-70 % or
        70-100 % of the RBs of busy subframes; the frame's starting SFN is drawn.
      cfi: control symbols 1..3; default 2 for the MathWorks loads, drawn per cell for the others.
      phich_ng: PHICH Ng (1).
      duplex: 'fdd' (default) or 'tdd' (frame structure type 2, TS 36.211 §4.2); ul_dl_config (0..6, default 2)
        and special_subframe_config (0..9, normal CP, default 7). In TDD, uplink subframes and the GP and UpPTS
        of special subframes are exactly zero, PSS/SSS sit in symbol 2 of subframes 1, 6 / symbol 13 of
        subframes 0, 5, and the PHICH groups of each subframe follow m_i of Table 6.9-1.
      num_ports: 1 (default), 2 or 4 cell-specific RS antenna ports (TS 36.211 §6.10.1): CRS of ports 2 and 3
        in symbol 1 of each slot; see `lte_port_rows` and `GridSource.port_rows`.
      crs_boost_db: CRS EPRE over PDSCH EPRE in dB, 0..6 (-p-a, TS 36.213 §5.2); default 0 for the MathWorks
        loads, drawn from 0, 1.77, 3, 4.77, 6 for the others.
    The drawn values (crs_boost_db, sfn0, pdsch_share, num_ports when not 1) are recorded in `params`.

  Returns:
    A `Waveform` labelled 'LTE'.
  """
  source = lte_source(bandwidth_mhz, ncellid=ncellid, seed=seed, duration_s=duration_s, **kwargs)
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  if source.num_subcarriers * 15e3 > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth of a '
                     f'{bandwidth_mhz} MHz LTE carrier')
  return source.waveform(sample_rate, int(round(duration_s * sample_rate)))
