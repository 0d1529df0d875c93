"""5G NR downlink (TS 38.211 / 38.213 / 38.104): SS/PBCH burst, CORESET0 with PDCCH, PDSCH (and, for the
realistic loads of `nr_traffic`, TRS), OFDM-modulated at the requested sample rate.

PSS, SSS, PBCH DMRS, PDCCH DMRS, PDSCH DMRS and TRS are bit-exact; the PBCH carries the cell's coded MIB
(`nr_pbch`: SFN, k_SSB, CORESET0 and search space 0, or k_SSB 31 without CORESET0); PDCCH and PDSCH carry random
data symbols (the load the spectrogram sees).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import counter_rng
from specsense_jax.signals import nr_cell
from specsense_jax.signals import nr_csirs
from specsense_jax.signals import nr_matlab
from specsense_jax.signals import nr_pbch
from specsense_jax.signals import nr_pdsch
from specsense_jax.signals import nr_ssb
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import nr_traffic
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

N_SC = 12
# Downlink loads: 'matlab' is the MathWorks-parity texture (CORESET over the band in every slot, PDSCH in the first
# 8 slots of 20); the others are the realistic cells of `nr_traffic`.
LOADS = ('matlab',) + nr_traffic.LOADS
SSB_PERIODS_MS = nr_ssb.SSB_PERIODS_MS  # TS 38.331 ssb-periodicityServingCell
# TS 38.104 Table 5.3.2-1 (FR1): N_RB per SCS (kHz) and channel bandwidth (MHz).
NR_N_RB = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133, 60: 162, 70: 189,
         80: 217, 90: 245, 100: 273},
}
# TS 38.213 §4.1: first symbols of the candidate SS/PBCH blocks in a half frame, per case and L.
_SSB_FIRST_SYMBOLS = {
    'A': lambda L: [s + 14 * n for n in range(L // 2) for s in (2, 8)],
    'B': lambda L: [s + 28 * n for n in range(L // 4) for s in (4, 8, 16, 20)],
    'C': lambda L: [s + 14 * n for n in range(L // 2) for s in (2, 8)],
}
_CASE_SCS = {'A': 15, 'B': 30, 'C': 30}
_SFN_INDEX = 2**62  # the counter-RNG index of a cell's first SFN (far beyond any resource element index)
_NO_CORESET0_K_SSB = 31  # TS 38.213 §4.1: k_SSB > 23 (FR1) tells that no CORESET0 goes with the block
dmrs_c_init = nr_pdsch.dmrs_c_init
random_groups = nr_matlab.random_groups


def n_rb_for(bandwidth_mhz: float, scs_khz: int) -> int:
  """N_RB of an NR FR1 channel bandwidth and SCS, or ValueError listing the allowed combinations."""
  if scs_khz not in NR_N_RB:
    raise ValueError(f'scs_khz must be one of {sorted(NR_N_RB)}, got {scs_khz!r}')
  table = NR_N_RB[scs_khz]
  for bw, n_rb in table.items():
    if abs(float(bandwidth_mhz) - bw) < 1e-9:
      return n_rb
  raise ValueError(f'bandwidth_mhz={bandwidth_mhz!r} is not defined for {scs_khz} kHz SCS in TS 38.104 '
                   f'Table 5.3.2-1; allowed: {sorted(table)} MHz')


def ssb_first_symbols(case: str, num_blocks: int) -> np.ndarray:
  """Half-frame symbol index of the first symbol of each candidate SS/PBCH block (TS 38.213 §4.1)."""
  if case not in _SSB_FIRST_SYMBOLS:
    raise ValueError(f'ssb_case must be one of {sorted(_SSB_FIRST_SYMBOLS)}, got {case!r}')
  if num_blocks not in (4, 8):
    raise ValueError(f'ssb_num_blocks (L) must be 4 or 8 in FR1 here, got {num_blocks!r}')
  return np.array(_SSB_FIRST_SYMBOLS[case](num_blocks))


def pbch_dmrs(ncellid: int, ssb_index: int, num_blocks: int, half_frame: int = 0) -> np.ndarray:
  """144 PBCH DMRS symbols (TS 38.211 §7.4.1.4.1)."""
  i_ssb = (ssb_index % 4) + 4 * half_frame if num_blocks == 4 else ssb_index % 8
  c_init = 2**11 * (i_ssb + 1) * (ncellid // 4 + 1) + 2**6 * (i_ssb + 1) + ncellid % 4
  return sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 288))


def ssb_grid(ncellid: int, ssb_index: int, num_blocks: int, pbch_data: np.ndarray, half_frame: int = 0
             ) -> np.ndarray:
  """One SS/PBCH block as a (4, 240) grid (TS 38.211 §7.4.3.1, Table 7.4.3.1-1).

  Args:
    ncellid: physical cell identity.
    ssb_index: candidate block index (sets the PBCH DMRS).
    num_blocks: burst length L.
    pbch_data: (4, 240) symbols from which the 432 PBCH data REs are taken.
    half_frame: the half frame the block is in (with L = 4 it sets the PBCH DMRS, TS 38.211 §7.4.1.4.1).
  """
  block = np.zeros((4, 240), np.complex64)
  block[0, 56:183] = sequences.nr_pss(ncellid % 3)
  block[2, 56:183] = sequences.nr_sss(ncellid)
  pbch, dmrs = pbch_masks(ncellid % 4)
  block[pbch] = pbch_data[pbch]
  rows, cols = np.nonzero(dmrs)  # row-major: increasing k within l, then l
  block[rows, cols] = pbch_dmrs(ncellid, ssb_index, num_blocks, half_frame)
  return block


def pbch_masks(v: int) -> tuple[np.ndarray, np.ndarray]:
  """(PBCH data, PBCH DMRS) RE masks of a block; DMRS on k = 4m + v (TS 38.211 Table 7.4.3.1-1)."""
  allocated = np.zeros((4, 240), bool)
  allocated[1] = allocated[3] = True
  allocated[2, :48] = allocated[2, 192:] = True
  dmrs = np.zeros((4, 240), bool)
  dmrs[:, v::4] = allocated[:, v::4]
  return allocated & ~dmrs, dmrs


def _ssb_burst(rng: np.random.Generator, num_blocks: int | None, bitmap) -> tuple[int, np.ndarray]:
  """(L, transmitted blocks): drawn as the MathWorks-parity generator always did (None), one drawn block
  ('single') or an explicit ssb-PositionsInBurst bitmap."""
  if num_blocks:
    ssb_first_symbols('A', num_blocks)  # ValueError naming ssb_num_blocks
  if bitmap is None or (isinstance(bitmap, str) and bitmap == 'single'):
    num_blocks = num_blocks or int(rng.choice([4, 8]))
    if bitmap is None:
      transmitted = rng.integers(0, 2, num_blocks).astype(bool)
      if not transmitted.any():
        transmitted[rng.integers(num_blocks)] = True
    else:
      transmitted = np.zeros(num_blocks, bool)
      transmitted[rng.integers(num_blocks)] = True
    return num_blocks, transmitted
  burst = nr_ssb.ssb_burst(20, bitmap, num_blocks or None)  # ValueError naming ssb_bitmap
  return burst.l_max, np.array(burst.transmitted)


def _ssb_k0(n_rb: int, ssb_rb_offset: int | None, ssb_first_subcarrier: int | None) -> int:
  """Carrier subcarrier of SS/PBCH block subcarrier 0: at an RB offset (default centred) or any subcarrier."""
  if ssb_first_subcarrier is None:
    if ssb_rb_offset is None:
      ssb_rb_offset = (n_rb - 20) // 2
    if not 0 <= ssb_rb_offset <= n_rb - 20:
      raise ValueError(f'ssb_rb_offset must be in [0, {n_rb - 20}] for {n_rb} RBs, got {ssb_rb_offset}')
    return ssb_rb_offset * N_SC
  if ssb_rb_offset is not None:
    raise ValueError(f'give ssb_rb_offset or ssb_first_subcarrier, not both; got {ssb_rb_offset!r} and '
                     f'{ssb_first_subcarrier!r}')
  last = n_rb * N_SC - 240
  if isinstance(ssb_first_subcarrier, bool) or not isinstance(ssb_first_subcarrier, (int, np.integer)) or not (
      0 <= ssb_first_subcarrier <= last):
    raise ValueError(f'ssb_first_subcarrier must be an int in [0, {last}] (the 240-subcarrier block inside the '
                     f'{n_rb}-RB carrier, any subcarrier: see nr_raster.ssb_placements), got {ssb_first_subcarrier!r}')
  return int(ssb_first_subcarrier)


def _ssb_blocks(first_symbols: np.ndarray, transmitted: np.ndarray, period_symbols: int, num_symbols: int,
                downlink: np.ndarray | None) -> list[tuple[int, int]]:
  """(first symbol, block index) of the blocks sent in `num_symbols`; in TDD a candidate block touching a
  symbol that is not downlink is not sent."""
  return [(p + int(first_symbols[i]), int(i)) for p in range(0, num_symbols, period_symbols)
          for i in np.flatnonzero(transmitted) if p + first_symbols[i] + 4 <= num_symbols and (
              downlink is None or bool(downlink[p + first_symbols[i]:p + first_symbols[i] + 4].all()))]


def nr_source(bandwidth_mhz: float, scs_khz: int, *, ncellid: int, seed, duration_s: float = 0.04,
              load: str = 'matlab', ssb_case: str | None = None, ssb_num_blocks: int | None = None,
              ssb_period_ms: int = 20, ssb_bitmap=None, ssb_rb_offset: int | None = None,
              ssb_first_subcarrier: int | None = None, modulation: str = 'qpsk', prb_fraction=(0.2, 0.7),
              slot_fraction=(0.1, 0.8), pdsch_period_slots: int = 20, coreset_symbols: int = 2,
              coreset0_index: int | None = None, search_space0_index: int | None = None, duplex: str = 'fdd',
              tdd_pattern: str | nr_tdd.TddPattern | nr_tdd.TddConfig = 'DDDSU') -> waveform_lib.GridSource:
  """The NR downlink of `nr_waveform` as a `GridSource` (rows built on demand); same arguments.

  For the loads other than 'matlab', `rows` is a `CellRows` whose `cell` and `schedule` hold the draws of
  `nr_traffic`.
  """
  n_rb = n_rb_for(bandwidth_mhz, scs_khz)
  if not 0 <= int(ncellid) < 1008:
    raise ValueError(f'ncellid must be in [0, 1007] for NR, got {ncellid!r}')
  ncellid = int(ncellid)
  if not isinstance(load, str) or load not in LOADS:
    raise ValueError(f'load must be one of {LOADS}, got {load!r}')
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  nr_ssb.check_period(ssb_period_ms)
  waveform_lib.check_range('prb_fraction', prb_fraction, 0, 1)
  waveform_lib.check_range('slot_fraction', slot_fraction, 0, 1)
  ssb_case = ssb_case or ('A' if scs_khz == 15 else 'B')
  if _CASE_SCS.get(ssb_case) != scs_khz:
    raise ValueError(f'ssb_case {ssb_case!r} does not use {scs_khz} kHz SCS; allowed at {scs_khz} kHz: '
                     f'{[c for c, s in _CASE_SCS.items() if s == scs_khz]}')
  if coreset_symbols not in (1, 2, 3):
    raise ValueError(f'coreset_symbols must be 1, 2 or 3, got {coreset_symbols!r}')
  if modulation not in sequences.MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(sequences.MODULATION_ORDERS)}, got {modulation!r}')
  if pdsch_period_slots < 1:
    raise ValueError(f'pdsch_period_slots must be >= 1, got {pdsch_period_slots!r}')
  if duplex not in nr_tdd.DUPLEX_MODES:
    raise ValueError(f'duplex must be one of {nr_tdd.DUPLEX_MODES}, got {duplex!r}')
  if load == 'matlab' and (coreset0_index, search_space0_index) != (None, None):
    raise ValueError(f"coreset0_index and search_space0_index need a load other than 'matlab', got "
                     f'{coreset0_index!r} and {search_space0_index!r}')
  tdd_config = nr_tdd.resolve(tdd_pattern, scs_khz)  # validated in FDD too, as LTE validates its TDD options
  tdd = tdd_config if duplex == 'tdd' else None
  draw_seq, data_seq = waveform_lib.seed_sequence(seed).spawn(2)
  rng = np.random.default_rng(draw_seq)
  key = counter_rng.key_from(data_seq)
  mu = {15: 0, 30: 1}[scs_khz]
  num_slots = int(np.ceil(duration_s * 1e3 * 2**mu - 1e-9))
  num_symbols = 14 * num_slots

  # SS/PBCH burst: candidate blocks in the first half frame of each period, transmitted subset.
  num_blocks, transmitted = _ssb_burst(rng, ssb_num_blocks, ssb_bitmap)
  first_symbols = ssb_first_symbols(ssb_case, num_blocks)
  ssb_k0 = _ssb_k0(n_rb, ssb_rb_offset, ssb_first_subcarrier)
  period_symbols = int(round(ssb_period_ms * 14 * 2**mu))
  # In TDD, the downlink symbols of the slot format; a candidate block touching any other symbol is not sent.
  downlink = None if tdd is None else nr_tdd.downlink_symbols(tdd, scs_khz, num_slots).reshape(-1)
  blocks = _ssb_blocks(first_symbols, transmitted, period_symbols, num_symbols, downlink)
  ssb = _Ssb(ncellid, num_blocks, ssb_k0, num_symbols, blocks, key, n_rb * N_SC)
  if load == 'matlab':
    rows, params = nr_matlab.rows(rng, key, ncellid, n_rb, scs_khz, ssb, downlink, modulation, prb_fraction,
                                  slot_fraction, pdsch_period_slots, coreset_symbols)
  else:
    rows = _cell_rows(rng, key, load, ncellid, n_rb, scs_khz, num_slots, ssb, first_symbols, transmitted,
                      period_symbols, tdd, int(ssb_period_ms), modulation, coreset0_index, search_space0_index)
    params = rows.params()
  base = {'standard': 'NR', 'bandwidth_mhz': float(bandwidth_mhz), 'scs_khz': scs_khz, 'n_rb': n_rb,
          'ncellid': ncellid, 'ssb_case': ssb_case, 'ssb_num_blocks': num_blocks,
          'ssb_transmitted': transmitted.astype(int).tolist(), 'modulation': modulation}
  params = {**base, **params}
  cell = None if load == 'matlab' else rows.cell
  # the MIB of the cell: its CORESET0 and search space 0, or k_SSB 31 where it has none (no SIB1)
  mib = nr_pbch.NrMib(k_ssb=(ssb_k0 % N_SC) * scs_khz // 15, scs_common_khz=scs_khz,
                      coreset_zero=cell.coreset0_index, search_space_zero=cell.search_space0_index) \
      if cell is not None and cell.coreset0_index is not None else \
      nr_pbch.NrMib(k_ssb=_NO_CORESET0_K_SSB, scs_common_khz=scs_khz)
  sfn0 = int(counter_rng.integers(key, _SFN_INDEX, 1024))
  ssb.set_mib(mib, sfn0, 140 * 2**mu)
  if load != 'matlab':
    params['sfn0'] = sfn0
  # New options appear in params only where used, so the MathWorks-parity parameters stay as they were.
  if load != 'matlab' or ssb_period_ms != 20:
    params['ssb_period_ms'] = int(ssb_period_ms)
  if load != 'matlab' or ssb_bitmap is not None:
    params['ssb_bitmap'] = ''.join(str(int(b)) for b in transmitted)
  if load != 'matlab' or ssb_first_subcarrier is not None:
    params.update(ssb_first_subcarrier=ssb_k0, k_ssb=(ssb_k0 % N_SC) * scs_khz // 15,
                  offset_to_point_a=(ssb_k0 // N_SC) * scs_khz // 15)
  if tdd is not None:  # FDD params stay as they were (they are stored with existing datasets)
    params.update(duplex='tdd', tdd_pattern=tdd_pattern if isinstance(tdd_pattern, str) else repr(tdd),
                  tdd_slots=nr_tdd.slot_string(tdd, scs_khz))
  return waveform_lib.GridSource(
      label='NR', bandwidth_hz=float(bandwidth_mhz) * 1e6, num_subcarriers=n_rb * N_SC, num_symbols=num_symbols,
      numerology_at=lambda fs: ofdm.nr_numerology(scs_khz, fs), rows=rows, params=params,
      ssb_symbols=tuple(l0 for l0, _ in blocks), ssb_subcarrier=ssb_k0 + 120,
      symbol_power=None if load == 'matlab' else rows.symbol_power)


class _Ssb:
  """The sent SS/PBCH blocks of a grid and their rows (blocks built once; their PBCH carries the cell's MIB, set by
  `set_mib` before any row is built)."""

  def __init__(self, ncellid: int, num_blocks: int, k0: int, num_symbols: int, blocks, key: int, n_sc: int):
    self.ncellid, self.num_blocks, self.k0, self.key, self.n_sc = ncellid, num_blocks, k0, key, n_sc
    self.mib, self.sfn0, self.frame_symbols = None, 0, 0
    self.blocks = blocks
    self.block_of = np.full(num_symbols, -1)  # first symbol of the block each symbol belongs to
    for l0, _ in blocks:
      self.block_of[l0:l0 + 4] = l0
    self.index_of = dict(blocks)
    self.pbch_data, pbch_dmrs_mask = pbch_masks(ncellid % 4)
    self.active = self.pbch_data | pbch_dmrs_mask
    self.active[[0, 2], 56:183] = True
    self._cache = {}

  def set_mib(self, mib: nr_pbch.NrMib, sfn0: int, frame_symbols: int) -> None:
    """The MIB the blocks' PBCH carries (its SFN counting from `sfn0` at symbol 0, `frame_symbols` a frame)."""
    self.mib, self.sfn0, self.frame_symbols = mib, int(sfn0), int(frame_symbols)
    self._cache.clear()

  def _half_frame(self, l0: int) -> int:
    return int(l0 % self.frame_symbols >= self.frame_symbols // 2)

  def _pbch(self, l0: int) -> np.ndarray:
    """(4, 240) with the coded PBCH (TS 38.212 §7.1) of the block starting at symbol `l0` on its REs."""
    mib = dataclasses.replace(self.mib, sfn=(self.sfn0 + l0 // self.frame_symbols) % 1024,
                              half_frame=self._half_frame(l0))
    data = np.zeros((4, 240), np.complex64)
    data[self.pbch_data] = sequences.qpsk_from_bits(
        nr_pbch.pbch_bits(mib, self.ncellid, self.index_of[l0], self.num_blocks))
    return data

  def fill(self, out: np.ndarray, symbols: np.ndarray, values: bool, amplitude: float = 1.0) -> None:
    """Writes the block's 240 subcarriers into the rows of `symbols` that carry one."""
    for j in np.flatnonzero(self.block_of[symbols] >= 0):
      l0 = int(self.block_of[symbols[j]])
      if not values:
        out[j, self.k0:self.k0 + 240] = self.active[symbols[j] - l0]
        continue
      if l0 not in self._cache:
        block = ssb_grid(self.ncellid, self.index_of[l0], self.num_blocks, self._pbch(l0), self._half_frame(l0))
        self._cache[l0] = block if amplitude == 1 else (block * np.float32(amplitude)).astype(np.complex64)
      out[j, self.k0:self.k0 + 240] = self._cache[l0][symbols[j] - l0]


def _pdsch_dmrs_index(k: np.ndarray, reference: int) -> np.ndarray:
  """r(2n + k') on k = 4n + 2k' (port 1000, TS 38.211 §7.4.1.1.2), k counted from the reference subcarrier."""
  return (k - reference) // 2


def _pdcch_dmrs_index(k: np.ndarray, reference: int) -> np.ndarray:
  """r(3n + k') on k = 12n + 4k' + 1 (TS 38.211 §7.4.1.3.2), k counted from the reference subcarrier (an RB
  boundary)."""
  return 3 * ((k - reference) // N_SC) + (k % N_SC - 1) // 4


class CellRows:
  """Grid rows of a realistic load: the `nr_traffic` schedule's resource-element codes turned into values.

  Data REs take counter-based constellation points by RE index; DM-RS take the Gold sequence of their symbol
  (TS 38.211 §7.4.1.1.1, §7.4.1.3.1, n_ID = N_ID^cell) indexed from their reference point: CRB 0, or CORESET0's
  lowest subcarrier for CORESET0's PDCCH and the SIB1 PDSCH (TS 38.211 §7.4.1.3.2, §7.4.1.1.2).

  Attributes:
    cell: the `nr_cell.Cell` draws.
    schedule: the `nr_traffic.Schedule`.
  """

  def __init__(self, cell: nr_cell.Cell, schedule: nr_traffic.Schedule, ssb: _Ssb, key: int, n_rb: int,
               scs_khz: int, modulation: str):
    self.cell, self.schedule, self._ssb, self._key = cell, schedule, ssb, key
    self._n_rb, self._scs = n_rb, scs_khz
    amp = {name: portable_math.db_to_amplitude(db) for name, db in cell.power_db.items() if db is not None}
    self._ssb_amplitude = amp['ssb']
    c0 = N_SC * cell.coreset0.first_rb if cell.coreset0 else 0
    self._data = {nr_traffic.PDSCH: (modulation, 1.0), nr_traffic.SI: ('qpsk', 1.0),
                  nr_traffic.PDCCH: ('qpsk', amp['pdcch'])}
    # code -> (sequence index of subcarrier k, reference subcarrier, amplitude)
    self._dmrs = {nr_traffic.PDSCH_DMRS_1: (_pdsch_dmrs_index, 0, nr_pdsch.dmrs_amplitude(1)),
                  nr_traffic.PDSCH_DMRS_2: (_pdsch_dmrs_index, 0, nr_pdsch.dmrs_amplitude(2)),
                  nr_traffic.SIB1_DMRS_1: (_pdsch_dmrs_index, c0, nr_pdsch.dmrs_amplitude(1)),
                  nr_traffic.SIB1_DMRS_2: (_pdsch_dmrs_index, c0, nr_pdsch.dmrs_amplitude(2)),
                  nr_traffic.PDCCH_DMRS: (_pdcch_dmrs_index, 0, amp['pdcch']),
                  nr_traffic.CORESET0_DMRS: (_pdcch_dmrs_index, c0, amp['pdcch'])}

  def symbol_power(self) -> np.ndarray:
    """(rows,) expected mean power per symbol, from the codes: each RE's amplitude squared (data QAM has unit
    mean power; DM-RS, TRS and the SS/PBCH block are constant-modulus), summed over subcarriers, over their number."""
    codes = self.schedule.codes
    # a float32 table lookup: a quarter of the memory traffic of per-code counts
    return self._code_power().astype(np.float32)[codes].sum(axis=1, dtype=np.float64) / codes.shape[1]

  def _code_power(self) -> np.ndarray:
    """E|x|^2 of an RE of each code."""
    power = np.zeros(nr_traffic.SSB + 1)
    for code, (_, amplitude) in self._data.items():
      power[code] = np.float32(amplitude) ** 2
    for code, (_, _, amplitude) in self._dmrs.items():
      power[code] = np.float32(amplitude) ** 2
    trs = self.cell.trs
    if trs is not None:
      offset = np.float32(portable_math.db_to_amplitude(trs.power_offset_db))
      power[nr_traffic.TRS] = (np.float32(self._ssb_amplitude) * offset) ** 2
    power[nr_traffic.SSB] = np.float32(self._ssb_amplitude) ** 2
    return power

  def params(self) -> dict:
    cell, c0, ue = self.cell, self.cell.coreset0, self.cell.ue_coreset
    return {'load': cell.load, 'coreset0_index': cell.coreset0_index, 'coreset0_rbs': c0 and [c0.first_rb, c0.n_rb],
            'coreset0_symbols': c0 and c0.n_symbols, 'search_space0_index': cell.search_space0_index,
            'sib1_rbs': c0 and list(cell.sib1_rbs), 'ue_coreset': [ue.first_rb, ue.n_rb, ue.n_symbols],
            'dmrs_type_a_position': cell.dmrs_type_a_position, 'trs': cell.trs and dict(vars(cell.trs)),
            'power_db': dict(cell.power_db), 'pdsch_rb_share': self.schedule.pdsch_share}

  def __call__(self, symbols: np.ndarray, values: bool = True) -> np.ndarray:
    """Grid rows of `symbols`; with values=False the bool map of the REs that carry energy."""
    symbols = np.asarray(symbols, np.int64)
    codes = self.schedule.codes[symbols]
    if not values:
      return codes != nr_traffic.EMPTY
    n_sc = codes.shape[1]
    out = np.zeros(codes.shape, np.complex64)
    re_index = symbols[:, None] * n_sc + np.arange(n_sc)
    for code, (modulation, amplitude) in self._data.items():
      where = codes == code
      if where.any():
        out[where] = counter_rng.qam(self._key, re_index[where], modulation) * np.float32(amplitude)
    slot, l = symbols // 14, symbols % 14
    low, high = nr_traffic.DMRS_CODES
    dmrs = np.flatnonzero(((codes >= low) & (codes <= high)).any(axis=1))
    if len(dmrs):  # one sequence per row serves every DM-RS in it (same c_init for PDCCH and PDSCH here)
      r = sequences.qpsk_from_bits(sequences.gold_sequence(
          nr_pdsch.dmrs_c_init(self._ssb.ncellid, slot[dmrs] % (10 * self._scs // 15), l[dmrs]), n_sc))
      for code, (index, reference, amplitude) in self._dmrs.items():
        rows, k = np.nonzero(codes[dmrs] == code)
        out[dmrs[rows], k] = r[rows, index(k, reference)] * np.float32(amplitude)
    if self.cell.trs is not None:
      trs = nr_csirs.trs_rows(self.cell.trs, self._n_rb, self._scs, slot, l)
      out[trs.rows[:, None], trs.subcarriers] = trs.values * np.float32(self._ssb_amplitude)
    self._ssb.fill(out, symbols, True, self._ssb_amplitude)
    return out


def _cell_rows(rng, key, load, ncellid, n_rb, scs_khz, num_slots, ssb: _Ssb, first_symbols, transmitted,
               period_symbols, tdd, ssb_period_ms, modulation, coreset0_index, search_space0_index) -> CellRows:
  """Draws a realistic cell (`nr_traffic`) around the SS/PBCH blocks, over the grid and a 160 ms horizon."""
  slots = max(num_slots, nr_cell.HORIZON_MS * scs_khz // 15)
  if tdd is None:
    downlink = np.ones((slots, 14), bool)
  else:
    downlink = nr_tdd.downlink_symbols(tdd, scs_khz, slots)
  blocks = _ssb_blocks(first_symbols, transmitted, period_symbols, 14 * slots, downlink.reshape(-1))
  layout = nr_cell.Layout(n_rb=n_rb, scs_khz=scs_khz, ncellid=ncellid, downlink=downlink,
                             ssb_blocks=tuple(blocks), ssb_first_subcarrier=ssb.k0, ssb_active=ssb.active,
                             ssb_period_ms=ssb_period_ms)
  cell = nr_cell.draw_cell(rng, load, layout, coreset0_index=coreset0_index,
                              search_space0_index=search_space0_index)
  return CellRows(cell, nr_traffic.draw_schedule(cell, layout, num_slots), ssb, key, n_rb, scs_khz, modulation)


def check_fits(occupied_hz: float, sample_rate: float, what: str) -> float:
  """Validates the sample rate and that the occupied band fits inside it."""
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  if occupied_hz > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth '
                     f'{occupied_hz / 1e6:g} MHz of {what}')
  return sample_rate


def nr_waveform(bandwidth_mhz: float, scs_khz: int, *, ncellid: int, seed, sample_rate: float = 61.44e6,
                duration_s: float = 0.04, **kwargs) -> waveform_lib.Waveform:
  """An NR downlink waveform (one antenna port), clean and centred at 0 Hz.

  Args:
    bandwidth_mhz: channel bandwidth (TS 38.104 Table 5.3.2-1).
    scs_khz: subcarrier spacing, 15 or 30.
    ncellid: physical cell identity 0..1007.
    seed: seed (int, ints or numpy SeedSequence) of every random draw.
    sample_rate: output rate; direct synthesis when the numerology is integral there, else resampled.
    duration_s: waveform length.
    **kwargs: structure options of `nr_source`:
      load: 'matlab' (default: the MathWorks-parity texture, bytes of existing datasets: a CORESET over the band at
        the start of every slot and PDSCH in groups of the first 8 slots of each `pdsch_period_slots`), or a
        realistic cell of `nr_traffic`: 'idle' (SS/PBCH blocks, CORESET0 with the SI-RNTI PDCCH on the
        Type0-PDCCH occasions, SIB1 / SI / paging PDSCH inside the CORESET0 bandwidth, TRS), 'light', 'medium',
        'heavy' (plus UE PDCCH and PDSCH on 5-30 %, 30-70 %, 70-100 % of the RBs of busy slots; light in bursts)
        or 'full' (every RB of every downlink symbol). Their draws are in `params`: coreset0_index,
        search_space0_index, trs, power_db (EPRE over the PDSCH: ssb, pdcch, trs), pdsch_rb_share, ...
      ssb_case: 'A' at 15 kHz; 'B' (default) or 'C' at 30 kHz.
      ssb_num_blocks: L = 4 or 8 (default drawn 50/50; the bitmap's length when one is given).
      ssb_period_ms: one of SSB_PERIODS_MS (default 20).
      ssb_bitmap: None (a drawn subset of the L blocks), 'single' (one drawn block) or ssb-PositionsInBurst as a
        string or sequence of L bits (leftmost = block 0).
      ssb_rb_offset: the block's first RB (default centred), or
      ssb_first_subcarrier: the block's first carrier subcarrier, any of 0..12·N_RB-240 (e.g.
        `nr_raster.ssb_placements(...)[i].first_subcarrier`); params then hold k_ssb and offset_to_point_a.
      coreset0_index, search_space0_index: realistic loads: controlResourceSetZero (TS 38.213 Tables 13-1 /
        13-4, among the rows that fit the carrier around the block) and searchSpaceZero (Table 13-11); drawn
        when None.
      modulation: UE PDSCH modulation ('qpsk', '16qam', '64qam', '256qam'; broadcast PDSCH is QPSK).
      prb_fraction, slot_fraction, pdsch_period_slots, coreset_symbols: 'matlab' load only: PDSCH RB share in
        1-3 groups ((0.2, 0.7)), share of the first 8 slots of each period in 1-3 groups ((0.1, 0.8)), period
        (20) and CORESET symbols (2).
      duplex: 'fdd' (default) or 'tdd'; tdd_pattern (TDD only): a preset name of `nr_tdd.PRESETS`, default
        'DDDSU' with a 10:2:2 special slot, '_6_4_4'-style suffixes select other splits, e.g. 'DDDSU_6_4_4'; or
        an `nr_tdd.TddPattern` / `nr_tdd.TddConfig`, the tdd-UL-DL-ConfigurationCommon of TS 38.213 §11.1.
        In TDD, uplink, guard and flexible symbols are exactly zero, and an SS/PBCH block whose candidate
        symbols are not all downlink is not sent (it is absent from `ssb_starts`).

  Returns:
    A `Waveform` labelled 'NR' with `ssb_offset_hz` and `ssb_starts`.
  """
  source = nr_source(bandwidth_mhz, scs_khz, ncellid=ncellid, seed=seed, duration_s=duration_s, **kwargs)
  sample_rate = check_fits(source.num_subcarriers * scs_khz * 1e3, sample_rate,
                           f'a {bandwidth_mhz} MHz NR carrier at {scs_khz} kHz')
  return source.waveform(sample_rate, int(round(duration_s * sample_rate)))
