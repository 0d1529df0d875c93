"""Per-cell configuration of a realistic NR cell (`nr_traffic`): CORESET0 and searchSpaceZero around the SS/PBCH
blocks (TS 38.213 §13), the Type0-PDCCH occasions the gNB uses, the UE-specific CORESET, the TRS (TS 38.214
§5.1.6.1.1), SIB1's RBs and the power offsets.

Choices look at HORIZON_MS, which every period divides (SS/PBCH, TRS, TDD, Type0, SIB1, SI), so they do not
depend on the grid's length. CORESET0 comes from the 5/10 MHz minimum-bandwidth tables (13-1 at 15 kHz, 13-4 at
30 kHz) for every carrier; the 40 MHz tables (13-5, 13-6) of n77/n78/n79-like carriers are not used.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from specsense_jax.signals import nr_coreset
from specsense_jax.signals import nr_csirs
from specsense_jax.signals import nr_pdcch

LOADS = ('idle', 'light', 'medium', 'heavy', 'full')
N_SC = 12
UE_CORESET_SYMBOLS = ((1, 2, 3), (0.3, 0.6, 0.1))
SIB1_RBS = (4, 12)  # contiguous RBs of SIB1 (per cell) and of each SI message, inside CORESET0
SI_PERIODS_MS = (80, 160)
TYPE0_PERIOD_MS = 20  # Type0 occasions repeat every two frames (TS 38.213 §13)
HORIZON_MS = 160  # SSB, TRS, TDD, Type0, SIB1 and SI periods all divide it
# Drawn EPRE offsets in dB over the UE PDSCH data: SS/PBCH (SSS) and PDCCH (uniform), TRS (range the drawn
# powerControlOffsetSS must bring it into).
POWER_DB = {'ssb': (0.0, 6.0), 'pdcch': (0.0, 3.0), 'trs': (0.0, 3.0)}


@dataclasses.dataclass(frozen=True)
class Layout:
  """What the traffic is drawn around, from `nr.nr_source`.

  Attributes:
    n_rb: carrier RBs (= common RBs from 0, at the carrier SCS).
    scs_khz: 15 or 30 (SS/PBCH block and CORESET0 use it too).
    ncellid: physical cell identity.
    downlink: (slots, 14) bool, the symbols that may carry downlink (a prefix of each slot), over at least the
      grid and HORIZON_MS.
    ssb_blocks: (first symbol, SS/PBCH block index) of every block sent over the same slots.
    ssb_first_subcarrier: carrier subcarrier of block subcarrier 0.
    ssb_active: (4, 240) bool, the REs of a block that carry PSS, SSS, PBCH or its DM-RS.
    ssb_period_ms: ssb-periodicityServingCell.
  """
  n_rb: int
  scs_khz: int
  ncellid: int
  downlink: np.ndarray
  ssb_blocks: tuple[tuple[int, int], ...]
  ssb_first_subcarrier: int
  ssb_active: np.ndarray
  ssb_period_ms: int

  @property
  def slots_per_frame(self) -> int:
    return 10 * self.scs_khz // 15

  @property
  def window_slots(self) -> int:
    """Slots of the 20 ms over which Type0 occasions repeat (TS 38.213 §13)."""
    return TYPE0_PERIOD_MS * self.slots_per_frame // 10

  @property
  def horizon_slots(self) -> int:
    return HORIZON_MS * self.slots_per_frame // 10

  @property
  def ssb_rbs(self) -> tuple[int, int]:
    """RBs [first, end) the block overlaps; their REs it does not use stay empty (TS 38.211 §7.4.3.1)."""
    return self.ssb_first_subcarrier // N_SC, -(-(self.ssb_first_subcarrier + 240) // N_SC)

  def ssb_symbols(self) -> np.ndarray:
    """(slots, 14) bool: the symbols of sent blocks."""
    flat = np.zeros(self.downlink.size, bool)
    for l0, _ in self.ssb_blocks:
      flat[l0:l0 + 4] = True
    return flat.reshape(self.downlink.shape)


@dataclasses.dataclass(frozen=True)
class Coreset:
  """A CORESET with its CCE-to-REG mapping: CCE j covers RB first_rb + reg_rb[j] in symbol reg_symbol[j] (from the
  CORESET's first symbol); `kind` is 'coreset0' (DM-RS from its lowest RB) or 'ue' (from CRB 0)."""
  first_rb: int
  n_rb: int
  n_symbols: int
  reg_rb: np.ndarray
  reg_symbol: np.ndarray
  kind: str

  @classmethod
  def build(cls, first_rb: int, n_rb: int, n_symbols: int, kind: str, **mapping) -> Coreset:
    regs = nr_pdcch.cce_reg_bundles(n_rb, n_symbols, **mapping)
    rb, symbol = nr_pdcch.reg_positions(regs, n_symbols)
    return cls(int(first_rb), int(n_rb), int(n_symbols), rb, symbol, kind)

  @property
  def n_cce(self) -> int:
    return len(self.reg_rb)


@dataclasses.dataclass(frozen=True)
class Cell:
  """Per-cell draws of a realistic load.

  Attributes:
    load: one of LOADS.
    key: seed of the per-slot draws of `nr_traffic`.
    coreset0_index: controlResourceSetZero, or None where no CORESET0 fits the carrier (then no SIB1: a cell
      without Type0-PDCCH CSS, as non-standalone cells).
    search_space0_index: searchSpaceZero (None without CORESET0).
    coreset0: CORESET0 (interleaved, L = 6, R = 2, n_shift = N_ID^cell), or None.
    ue_coreset: the UE-specific CORESET (non-interleaved), drawn for every load, used by the non-idle ones.
    dmrs_type_a_position: dmrs-TypeA-Position: 3 where a 3-symbol CORESET leaves no room before symbol 2.
    trs: the TRS, or None where no slot can hold one.
    power_db: EPRE offsets over the UE PDSCH data: 'ssb', 'pdcch', 'trs'.
    sib1_rbs: (first RB, RBs) of SIB1, or None.
    si_period_ms: si-Periodicity of the SI message.
    si_window: the 20 ms window of each si-Periodicity that carries it.
  """
  load: str
  key: int
  coreset0_index: int | None
  search_space0_index: int | None
  coreset0: Coreset | None
  ue_coreset: Coreset
  dmrs_type_a_position: int
  trs: nr_csirs.TrsConfig | None
  power_db: dict[str, float]
  sib1_rbs: tuple[int, int] | None
  si_period_ms: int
  si_window: int


def type0_slot(layout: Layout, ssb_symbols: np.ndarray, coreset: Coreset, occasion: nr_coreset.Type0Occasion,
               window: int, fits: np.ndarray | None = None) -> int | None:
  """The slot of a Type0 occasion the gNB uses in a 20 ms window: n0, or n0 + 1 where n0 cannot hold CORESET0.

  `fits`: `_fit_table` of the CORESET (computed here when not given).
  """
  if fits is None:
    fits = _fit_table(layout, ssb_symbols, coreset)
  base = window * layout.window_slots + occasion.slots[0]
  return next((s for s in (base, base + 1) if s < len(fits) and fits[s, occasion.first_symbol]), None)


def _fit_table(layout: Layout, ssb_symbols: np.ndarray, coreset: Coreset) -> np.ndarray:
  """(slots, 14) bool: whether CORESET0 starting at each symbol of each slot is in downlink symbols and clear of
  the SS/PBCH block's RBs in its symbols."""
  lo, hi = layout.ssb_rbs
  overlap = coreset.first_rb < hi and lo < coreset.first_rb + coreset.n_rb
  fits = np.zeros(layout.downlink.shape, bool)
  for first in range(layout.downlink.shape[1]):
    symbols = slice(first, first + coreset.n_symbols)
    fits[:, first] = layout.downlink[:, symbols].all(axis=1) & ~(ssb_symbols[:, symbols].any(axis=1) & overlap)
  return fits


def occasions(layout: Layout, ssb_symbols: np.ndarray, coreset: Coreset, search_space0: int, windows: int,
              fits: np.ndarray | None = None) -> list[list[tuple[int, int]]]:
  """Per 20 ms window, the (slot, first CORESET0 symbol) of the Type0-PDCCH occasion of each sent block."""
  if fits is None:
    fits = _fit_table(layout, ssb_symbols, coreset)
  out = [[] for _ in range(windows)]
  bases = np.arange(windows) * layout.window_slots
  for i in sorted({i for _, i in layout.ssb_blocks}):
    occasion = nr_coreset.type0_pdcch_occasion(search_space0, i, layout.scs_khz, coreset.n_symbols)
    n0 = bases + occasion.slots[0]  # `type0_slot` of every window at once: n0, else n0 + 1, else none
    ok = [(s < len(fits)) & fits[np.minimum(s, len(fits) - 1), occasion.first_symbol] for s in (n0, n0 + 1)]
    for w, slot in enumerate(np.where(ok[0], n0, np.where(ok[1], n0 + 1, -1)).tolist()):
      if slot >= 0:
        out[w].append((slot, occasion.first_symbol))
  return out


def _draw_search_space0(rng, layout: Layout, ssb_symbols: np.ndarray, coreset: Coreset, given: int | None) -> int:
  """searchSpaceZero: `given`, or drawn among those whose occasions fit in every window of the horizon."""
  if given is not None:
    nr_coreset.type0_pdcch_occasion(given, 0, layout.scs_khz, coreset.n_symbols)  # ValueError naming it
    return int(given)
  windows = layout.horizon_slots // layout.window_slots
  beams = len({i for _, i in layout.ssb_blocks})
  fits = _fit_table(layout, ssb_symbols, coreset)
  fitting = [s for s in nr_coreset.TABLE_13_11 if all(
      len(w) == beams for w in occasions(layout, ssb_symbols, coreset, s, windows, fits))]
  return int(rng.choice(fitting or list(nr_coreset.TABLE_13_11)))


def _draw_trs(rng, layout: Layout, ssb_symbols: np.ndarray, busy_slots: np.ndarray, ssb_db: float
              ) -> nr_csirs.TrsConfig | None:
  """A TRS in slots without SS/PBCH blocks (and, where possible, without Type0 occasions: `busy_slots`), whose
  two symbols are downlink; two consecutive slots a set unless TDD allows only one (TS 38.214 §5.1.6.1.1)."""
  period = int(rng.choice(nr_csirs.PERIODS_MS))
  first_symbol = int(rng.choice(nr_csirs.FIRST_SYMBOLS))
  k0 = int(rng.choice(list(nr_csirs.K0_VALUES)))
  narrow = layout.n_rb > nr_csirs.MAX_NARROW_RBS and (period == 10 or rng.random() < 0.5)
  rb_start = nr_csirs.RB_START_STEP * int(rng.integers(
      (layout.n_rb - nr_csirs.MAX_NARROW_RBS) // nr_csirs.RB_START_STEP + 1)) if narrow else 0
  low, high = POWER_DB['trs']  # powerControlOffsetSS (over the SSS) that puts the TRS in range over the PDSCH
  offsets = [p for p in nr_csirs.POWER_OFFSETS_DB if low <= ssb_db + p <= high] or [0]
  power = offsets[int(rng.integers(len(offsets)))]
  horizon = layout.horizon_slots
  p_slots = period * layout.slots_per_frame // 10
  symbols_ok = layout.downlink[:horizon, first_symbol + nr_csirs.SYMBOL_GAP] & ~ssb_symbols[:horizon].any(axis=1)
  offset = int(rng.integers(p_slots))
  for ok, slots_per_set in ((symbols_ok & ~busy_slots[:horizon], 2), (symbols_ok, 2),
                            (symbols_ok & ~busy_slots[:horizon], 1), (symbols_ok, 1)):
    both = ok & np.roll(ok, -1) if slots_per_set == 2 else ok
    candidates = np.flatnonzero(both.reshape(-1, p_slots).all(axis=0))
    if len(candidates):  # the first candidate at or after a drawn slot, so every offset is reachable
      slot_offset = int(candidates[np.searchsorted(candidates, offset) % len(candidates)])
      return nr_csirs.TrsConfig(period_ms=period, slot_offset=slot_offset, first_symbol=first_symbol, k0=k0,
                                rb_start=rb_start, n_rbs=nr_csirs.MAX_NARROW_RBS if narrow else None,
                                n_id=layout.ncellid, power_offset_db=power, slots_per_set=slots_per_set)
  return None


def draw_cell(rng: np.random.Generator, load: str, layout: Layout, *, coreset0_index: int | None = None,
              search_space0_index: int | None = None) -> Cell:
  """The per-cell draws (the same for every load, so loads of one seed differ only in their traffic)."""
  if load not in LOADS:
    raise ValueError(f'load must be one of {LOADS}, got {load!r}')
  key = int(rng.integers(2**63))
  power_db = {name: round(float(rng.uniform(*POWER_DB[name])), 1) for name in ('ssb', 'pdcch')}
  scs, n_rb = layout.scs_khz, layout.n_rb
  ssb_rb = layout.ssb_first_subcarrier // N_SC
  k_ssb = (layout.ssb_first_subcarrier % N_SC) * scs // 15
  # TS 38.213 §13 with the 5/10 MHz minimum-bandwidth tables (13-1, 13-4) for every carrier.
  usable = nr_coreset.usable_coreset0_indices(n_rb, ssb_rb, scs, scs, 5, k_ssb)
  if coreset0_index is not None:
    if isinstance(coreset0_index, bool) or coreset0_index not in usable:
      raise ValueError(f'coreset0_index must be one whose CORESET0 fits the {n_rb}-RB carrier with the SS/PBCH block '
                       f'at RB {ssb_rb} (TS 38.213 Tables 13-1/13-4): one of {usable}, got {coreset0_index!r}')
  elif usable:
    coreset0_index = int(rng.choice(usable))
  n_cs = int(rng.choice(UE_CORESET_SYMBOLS[0], p=UE_CORESET_SYMBOLS[1]))
  groups = n_rb // 6
  low = min(groups, -(-16 // n_cs))  # at least 16 CCEs where the carrier allows (aggregation level 16)
  span = int(rng.integers(low, groups + 1))
  start = int(rng.integers(0, groups - span + 1))
  if load == 'full':  # drawn all the same, so every load of a seed has the same other draws
    span, start = groups, 0
  ue_coreset = Coreset.build(6 * start, 6 * span, n_cs, 'ue', interleaved=False)
  ssb_symbols = layout.ssb_symbols()
  coreset0, ss0, busy_slots, sib1 = None, None, np.zeros(len(layout.downlink), bool), None
  if coreset0_index is not None:
    row = nr_coreset.coreset0(coreset0_index, scs, scs, 5, k_ssb)
    mapping = nr_pdcch.coreset0_mapping(layout.ncellid)  # n_shift = N_ID^cell (TS 38.211 §7.3.2.2)
    coreset0 = Coreset.build(row.first_rb(ssb_rb), row.n_rb, row.n_symbols, 'coreset0', **mapping)
    ss0 = _draw_search_space0(rng, layout, ssb_symbols, coreset0, search_space0_index)
    for window in occasions(layout, ssb_symbols, coreset0, ss0, layout.horizon_slots // layout.window_slots):
      busy_slots[[slot for slot, _ in window]] = True
    # Two search space sets a slot (two blocks' SIB1 side by side): each takes at most half, from an edge.
    sets = nr_coreset.TABLE_13_11[ss0][1]
    count = min(int(rng.integers(SIB1_RBS[0], SIB1_RBS[1] + 1)), coreset0.n_rb // sets)
    start = int(rng.integers(coreset0.n_rb - count + 1))
    sib1 = (coreset0.first_rb + (start if sets == 1 else (coreset0.n_rb - count) * (start % 2)), count)
  elif search_space0_index is not None:
    raise ValueError(f'search_space0_index needs a CORESET0, and none fits the {n_rb}-RB carrier, got '
                     f'{search_space0_index!r}')
  type_a = 3 if 3 in (n_cs, coreset0.n_symbols if coreset0 else 0) else 2
  trs = _draw_trs(rng, layout, ssb_symbols, busy_slots, power_db['ssb'])
  power_db['trs'] = round(power_db['ssb'] + trs.power_offset_db, 1) if trs else None
  si_period = int(rng.choice(SI_PERIODS_MS))
  return Cell(load=load, key=key, coreset0_index=coreset0_index, search_space0_index=ss0, coreset0=coreset0,
              ue_coreset=ue_coreset, dmrs_type_a_position=type_a, trs=trs, power_db=power_db, sib1_rbs=sib1,
              si_period_ms=si_period, si_window=int(rng.integers(si_period // TYPE0_PERIOD_MS)))
