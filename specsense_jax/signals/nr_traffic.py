"""NR downlink traffic of realistic cells: what an idle, lightly, moderately, heavily or fully loaded gNB sends in
each slot, as a map of resource-element codes that `nr.nr_source` turns into values.

'idle' (what real idle cells show, ../shared/realdata/README.md): SS/PBCH blocks; CORESET0 (TS 38.213 §13, Tables
13-1 / 13-4) at its offset from the block; on the Type0-PDCCH occasion of searchSpaceZero (Table 13-11) of each
sent block, an SI-RNTI DCI at aggregation level 4, 8 or 16 on a Type0 CSS candidate (interleaved CORESET0) and the
SIB1 PDSCH on contiguous RBs inside the CORESET0 bandwidth after the CORESETs (type A when it starts by the first
DM-RS symbol, else type B; DCI 1_0: pos2, 2 CDM groups without data, TS 38.214 §5.1.6.2). SIB1 repeats every 20 ms
(multiplexing pattern 1, TS 38.331 §5.2.1) or every SS/PBCH period when longer; SI messages (one 20 ms window per
si-Periodicity) and paging (PAGING_PROBABILITY per window) use the same occasions (search space 0, TS 38.213
§10.1, TS 38.304 §7.1). A periodic TRS (TS 38.214 §5.1.6.1.1) away from the blocks and, if possible, the
occasions.
'light', 'medium', 'heavy': idle plus, in busy slots (BURST), a PDSCH_SHARE of the RBs split among DL_UES UEs,
each with a DCI (aggregation level 1-16) in its UE-specific search space of the cell's UE CORESET (non-interleaved,
1-3 symbols, whole 6-RB groups) and a PDSCH (allocation type 0 or 1; mapping type A from symbol 0-3 after the
CORESETs or B of 2, 4, 7 symbols; DM-RS type 1 with 0-2 additional positions and 1 or 2 CDM groups without
data), plus UL grants.
'full': all RBs in every slot, UE PDSCH from symbol 0 (rate-matched around the PDCCHs) with one CDM group without
data. Empty there: the SS/PBCH block's RBs outside its REs (TS 38.211 §7.4.3.1), CDM group 1 of broadcast DM-RS
symbols, CORESET0 above the broadcast PDSCH and, where CORESET0 reaches the first DM-RS symbol, its unused REs
(the PDSCH on its RBs starts after it).

The per-cell draws (CORESET0, searchSpaceZero, UE CORESET, TRS, power offsets over the UE PDSCH data EPRE) are
`nr_cell`'s; PDSCH DM-RS power per TS 38.214 Table 4.1-1. Per-slot draws come from the cell key and the slot
index, so a longer grid of the same seed starts with the same schedule.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from specsense_jax.signals import nr_cell
from specsense_jax.signals import nr_csirs
from specsense_jax.signals import nr_pdcch
from specsense_jax.signals import nr_pdsch

LOADS = nr_cell.LOADS
N_SC = nr_cell.N_SC
SYMBOLS = 14
# Resource-element codes of `Schedule.codes` (nr.nr_source renders them; EMPTY REs carry nothing).
EMPTY, PDSCH, SI, PDCCH, PDSCH_DMRS_1, PDSCH_DMRS_2, SIB1_DMRS_1, SIB1_DMRS_2, PDCCH_DMRS, CORESET0_DMRS, TRS, SSB = \
    range(12)
DMRS_CODES = (PDSCH_DMRS_1, CORESET0_DMRS)  # first and last DM-RS code
# PDSCH by DCI name -> data code (SI: QPSK broadcast) and DM-RS code by CDM groups without data. The DM-RS counts
# from CORESET0's lowest subcarrier only for SIB1 (SI-RNTI in the Type0 CSS), from CRB 0 otherwise (TS 38.211
# §7.4.1.1.2).
_UNICAST = {1: PDSCH_DMRS_1, 2: PDSCH_DMRS_2}
_PDCCH_DMRS_CODES = {'coreset0': CORESET0_DMRS, 'ue': PDCCH_DMRS}  # from CORESET0's lowest RB or CRB 0
_PDSCH_CODES = {'dl': (PDSCH, _UNICAST), 'sib1': (SI, {1: SIB1_DMRS_1, 2: SIB1_DMRS_2}), 'si': (SI, _UNICAST),
                'paging': (SI, _UNICAST)}
# Share of the RBs given to UE PDSCH in a busy slot (uniform per slot).
PDSCH_SHARE = {'light': (0.05, 0.30), 'medium': (0.30, 0.70), 'heavy': (0.70, 1.00), 'full': (1.0, 1.0)}
# Busy/quiet chain per slot: (share of busy time, mean busy run in ms): light is busy 35 % of the time in 2 ms
# bursts (quiet gaps of 3.7 ms), medium 80 % in 10 ms runs, heavy and full always.
BURST = {'light': (0.35, 2.0), 'medium': (0.8, 10.0), 'heavy': (1.0, math.inf), 'full': (1.0, math.inf)}
DL_UES = {'light': (1, 2), 'medium': (2, 4), 'heavy': (3, 6), 'full': (2, 6)}  # UEs scheduled in a busy slot
UL_GRANTS = {'light': (0, 1), 'medium': (1, 2), 'heavy': (1, 3), 'full': (2, 4)}  # DCI format 0_1 per busy slot
UE_AGGREGATION = ((1, 2, 4, 8, 16), (0.2, 0.35, 0.25, 0.15, 0.05))
UE_CANDIDATES = {1: 4, 2: 4, 4: 2, 8: 2, 16: 1}  # nrofCandidates of the UE-specific search space (TS 38.331)
COMMON_AGGREGATION = tuple(nr_pdcch.TYPE0_CSS_CANDIDATES)  # 4, 8, 16 (TS 38.213 Table 10.1-1)
UE_CORESET_ID = 1
P_TYPE_B = 0.15  # share of UE PDSCH with mapping type B
UE_ADDITIONAL_POSITIONS = ((0, 1, 2), (0.2, 0.5, 0.3))
_RNTI_RANGE = (0x0001, 0xFFF0)  # C-RNTI values (TS 38.321 Table 7.1-1)
PAGING_RBS = (2, 6)
PAGING_PROBABILITY = 0.2  # per 20 ms window of Type0 occasions


@dataclasses.dataclass(frozen=True)
class Dci:
  """A PDCCH sent: name 'sib1', 'si', 'paging', 'dl' or 'ul'; 'coreset0' or 'ue'; first symbol; its CCEs."""
  name: str
  coreset: str
  first_symbol: int
  cces: tuple[int, ...]


@dataclasses.dataclass
class Schedule:
  """What the grid carries.

  Attributes:
    codes: (num_slots·14, 12·n_rb) uint8 resource-element codes.
    dcis: per slot, the `Dci`s sent.
    pdsch_rbs: (num_slots, n_rb) bool, RBs carrying any PDSCH.
    pdsch_share: share of RBs carrying PDSCH over the slots with downlink symbols.
  """
  codes: np.ndarray
  dcis: list[list[Dci]]
  pdsch_rbs: np.ndarray
  pdsch_share: float


def _broadcast(cell: nr_cell.Cell, layout: nr_cell.Layout, num_slots: int) -> dict[int, list[tuple[str, int]]]:
  """slot -> [(name, first CORESET0 symbol)] of the SIB1, SI and paging transmissions, one per sent block."""
  if cell.coreset0 is None:
    return {}
  window_ms = nr_cell.TYPE0_PERIOD_MS
  sib1_every = max(window_ms, layout.ssb_period_ms) // window_ms  # in 20 ms windows
  occasions_of = nr_cell.occasions(layout, layout.ssb_symbols(), cell.coreset0, cell.search_space0_index,
                                   -(-num_slots // layout.window_slots))
  events = {}
  for w, occasions in enumerate(occasions_of):
    names = ['sib1'] * (w % sib1_every == 0) + ['si'] * (w % (cell.si_period_ms // window_ms) == cell.si_window)
    if np.random.default_rng([cell.key, 2, w]).random() < PAGING_PROBABILITY:
      names.append('paging')
    for slot, first in occasions:
      if slot < num_slots:
        events.setdefault(slot, []).extend((name, first) for name in names)
  return events


def _place_dci(cce_busy: int, levels, candidates_of) -> list[int] | None:
  """CCEs of the first candidate (trying `levels` in order) with no busy CCE (`cce_busy`: a bit per CCE, set where
  a REG of the CCE is busy; a candidate is free when none of its CCEs is, so REGs need not be looked at)."""
  for level in levels:
    for mask, cces in candidates_of(level):
      if not cce_busy & mask:
        return cces
  return None


def _cce_busy(reg_busy: np.ndarray, coreset: nr_cell.Coreset, first: int) -> int:
  """A bit per CCE of the CORESET starting at symbol `first`, set where one of its REGs is busy."""
  busy = reg_busy[first + coreset.reg_symbol, coreset.first_rb + coreset.reg_rb].any(axis=1)
  return int.from_bytes(np.packbits(busy, bitorder='little').tobytes(), 'little')


def _candidate(cces) -> tuple[int, list[int]]:
  """(bit mask, CCE list) of a PDCCH candidate."""
  cces = [int(c) for c in cces]
  return sum(1 << c for c in cces), cces


@functools.lru_cache(maxsize=64)
def _uss_offsets(n_cce: int) -> dict[int, tuple[tuple[int, ...], int]]:
  """level -> (floor(m·N_CCE / (L·M)) of the candidates m, floor(N_CCE / L)) of the UE-specific search space
  (TS 38.213 §10.1, n_CI = 0, M_max = M); levels above N_CCE have no candidate."""
  return {level: (tuple(i * n_cce // (level * m) for i in range(m)), n_cce // level)
          for level, m in UE_CANDIDATES.items() if n_cce >= level}


def _uss_candidates(n_cce: int, slot: int, rnti: int):
  """level -> [(bit mask, CCEs)] of the candidates, as `nr_pdcch.search_space_candidates` of the UE CORESET,
  hashing the RNTI once."""
  y = nr_pdcch.uss_hash(rnti, UE_CORESET_ID, slot)
  offsets = _uss_offsets(n_cce)

  def of(level):
    if level not in offsets:
      return ()
    shift, blocks = offsets[level]
    starts = [level * ((y + s) % blocks) for s in shift]
    return [(((1 << level) - 1) << start, list(range(start, start + level))) for start in starts]

  return of


def _paint_pdcch(codes: np.ndarray, pdcch: list) -> None:
  """The slot's PDCCHs [(coreset, first symbol, CCEs)], each REG with DM-RS on subcarriers 1, 5, 9 (TS 38.211
  §7.4.1.3.2) and data on the others; PDCCHs never share a REG, so all are painted at once."""
  if not pdcch:
    return
  rb = np.concatenate([coreset.first_rb + coreset.reg_rb[cces].reshape(-1) for coreset, _, cces in pdcch])
  symbol = np.concatenate([first + coreset.reg_symbol[cces].reshape(-1) for coreset, first, cces in pdcch])
  dmrs = np.concatenate([np.full(len(cces) * coreset.reg_rb.shape[1], _PDCCH_DMRS_CODES[coreset.kind], np.uint8)
                         for coreset, _, cces in pdcch])
  per_rb = codes.reshape(SYMBOLS, -1, N_SC)
  per_rb[symbol, rb] = PDCCH
  per_rb[symbol[:, None], rb[:, None], np.asarray(nr_pdcch.DMRS_SUBCARRIERS)] = dmrs[:, None]


def _levels(rng, levels, p=None) -> tuple[int, ...]:
  """A drawn aggregation level first, then the others by closeness (a larger one if the first has no room)."""
  cumulative, orders = _level_table(tuple(levels), None if p is None else tuple(p))
  return orders[min(int(np.searchsorted(cumulative, rng.random(), side='right')), len(levels) - 1)]


@functools.lru_cache(maxsize=None)
def _level_table(levels: tuple[int, ...], p: tuple[float, ...] | None):
  """(cumulative probabilities, the `_levels` order starting with each level)."""
  cumulative = np.cumsum(np.full(len(levels), 1 / len(levels)) if p is None else p)
  orders = tuple((first,) + tuple(sorted((l for l in levels if l != first), key=lambda l: (abs(l - first), -l)))
                 for first in levels)
  return cumulative, orders


def _chain(load: str, slot_ms: float) -> tuple[float, float]:
  """(P(busy -> busy), P(quiet -> quiet)) per slot giving BURST's busy share and mean busy run."""
  share, run_ms = BURST[load]
  if share >= 1:
    return 1.0, 0.0
  stay = 1 - slot_ms / run_ms
  return stay, 1 - share * (1 - stay) / (1 - share)


@dataclasses.dataclass
class _Slot:
  """A slot being scheduled: its codes (a view), REGs no PDCCH may take (SS/PBCH block, TRS, PDCCHs `marked`), RBs
  no PDSCH has taken, and the PDCCHs to paint once every PDSCH is in (a PDSCH is rate-matched around them)."""
  index: int
  rng: np.random.Generator
  codes: np.ndarray
  reg_busy: np.ndarray
  free: np.ndarray
  downlink: int
  control_end: int
  avoid: tuple[int, ...]
  dcis: list[Dci]
  full_start: int = 0  # full load: first PDSCH symbol on CORESET0's RBs (0: rate-matched around its PDCCH)
  pdcch: list = dataclasses.field(default_factory=list)
  cce_busy: tuple = (None, 0)  # (CORESET instance, `_cce_busy` bits) of the latest DCI
  marked: int = 0  # PDCCHs whose REGs are in reg_busy

  def send(self, name: str, coreset: nr_cell.Coreset, first: int, levels, candidates_of, rbs=None, alloc=None) -> bool:
    """Places the DCI and paints its PDSCH (if any); False where no candidate is free."""
    # The busy CCEs carry over while the DCIs stay in one CORESET instance (a UE slot's run of DCIs).
    # Their REGs go into reg_busy only when another instance needs it.
    instance, cce_busy = self.cce_busy
    if instance != (id(coreset), first):
      for placed_coreset, placed_first, placed in self.pdcch[self.marked:]:
        self.reg_busy[placed_first + placed_coreset.reg_symbol[placed],
                      placed_coreset.first_rb + placed_coreset.reg_rb[placed]] = True
      self.marked = len(self.pdcch)
      instance, cce_busy = (id(coreset), first), _cce_busy(self.reg_busy, coreset, first)
    cces = _place_dci(cce_busy, levels, candidates_of)
    if cces is None:
      return False
    self.cce_busy = instance, cce_busy | sum(1 << c for c in cces)
    if rbs is not None:
      nr_pdsch.paint(self.codes, rbs, alloc, *_PDSCH_CODES[name])
      self.free &= ~rbs
    self.pdcch.append((coreset, first, cces))
    self.dcis.append(Dci(name, coreset.kind, first, tuple(cces)))
    return True


def _broadcast_slot(cell: nr_cell.Cell, slot: _Slot, events, css) -> None:
  """SIB1, SI and paging of the slot: a CSS DCI in CORESET0 and a PDSCH in its bandwidth after the CORESETs."""
  c0, rng = cell.coreset0, slot.rng
  for name, first in events:
    low, high = PAGING_RBS if name == 'paging' else nr_cell.SIB1_RBS
    count = cell.sib1_rbs[1] if name == 'sib1' else int(rng.integers(low, high + 1))
    rbs = nr_pdsch.contiguous_rbs(rng, slot.free, c0.first_rb, c0.first_rb + c0.n_rb, min(count, c0.n_rb),
                                  cell.sib1_rbs[0] if name == 'sib1' else None)
    alloc = nr_pdsch.draw_allocation(rng, slot.control_end, slot.downlink, type_a_position=cell.dmrs_type_a_position,
                                     additional_positions=(2,), cdm_groups=(2,), avoid=slot.avoid, earliest=True)
    if rbs is not None and alloc is not None:
      slot.send(name, c0, first, _levels(rng, COMMON_AGGREGATION), lambda level: css.get(level, ()), rbs, alloc)


def _ue_slot(cell: nr_cell.Cell, layout: nr_cell.Layout, slot: _Slot) -> None:
  """Unicast traffic of a busy slot: DCIs in UE-specific search spaces with their PDSCH, then UL grants."""
  rng, ue, load, n_rb = slot.rng, cell.ue_coreset, cell.load, layout.n_rb

  def candidates(rnti):
    return _uss_candidates(ue.n_cce, slot.index % layout.slots_per_frame, rnti)

  def allocation(first, **kwargs):
    return nr_pdsch.draw_allocation(rng, first, slot.downlink, type_a_position=cell.dmrs_type_a_position,
                                    additional_positions=UE_ADDITIONAL_POSITIONS[0], avoid=slot.avoid, **kwargs)

  num_ues = int(rng.integers(DL_UES[load][0], DL_UES[load][1] + 1))
  if load == 'full':
    # Every free RB, split among the UEs, PDSCH from symbol 0 with one CDM group without data; on CORESET0's RBs
    # after the CORESETs where CORESET0 reaches the first DM-RS symbol (`full_start`).
    on_c0 = np.zeros(n_rb, bool)
    if slot.full_start:
      on_c0[cell.coreset0.first_rb:cell.coreset0.first_rb + cell.coreset0.n_rb] = True
    for part, first in ((slot.free & ~on_c0, 0), (slot.free & on_c0, slot.full_start)):
      order, last = np.flatnonzero(part), None
      for chunk in np.array_split(order, min(num_ues, len(order))) if len(order) else []:
        alloc = allocation(first, cdm_groups=(1,), earliest=True)
        rbs = np.zeros(n_rb, bool)
        rbs[chunk] = True
        if alloc is not None and slot.send('dl', ue, 0, _levels(rng, *UE_AGGREGATION),
                                           candidates(int(rng.integers(*_RNTI_RANGE))), rbs, alloc):
          last = alloc
      if last is not None and (part & slot.free).any():  # RBs of UEs without a free PDCCH candidate
        nr_pdsch.paint(slot.codes, part & slot.free, last, *_PDSCH_CODES['dl'])
        slot.free &= ~part
  else:
    target = int(np.clip(round(rng.uniform(*PDSCH_SHARE[load]) * n_rb), 1, max(slot.free.sum(), 1)))
    num_ues = min(num_ues, target)
    sizes = 1 + rng.multinomial(target - num_ues, np.ones(num_ues) / num_ues)
    carry = 0  # RBs a UE could not take (whole RBGs, fragmentation) go to the next one
    for size in sizes:
      rnti = int(rng.integers(*_RNTI_RANGE))
      rbs = nr_pdsch.draw_rbs(rng, slot.free, int(size) + carry)
      carry = int(size) + carry - int(rbs.sum())
      alloc = allocation(slot.control_end, p_type_b=P_TYPE_B)
      if rbs.any() and alloc is not None:
        slot.send('dl', ue, 0, _levels(rng, *UE_AGGREGATION), candidates(rnti), rbs, alloc)
  for _ in range(int(rng.integers(UL_GRANTS[load][0], UL_GRANTS[load][1] + 1))):
    slot.send('ul', ue, 0, _levels(rng, *UE_AGGREGATION), candidates(int(rng.integers(*_RNTI_RANGE))))


def draw_schedule(cell: nr_cell.Cell, layout: nr_cell.Layout, num_slots: int) -> Schedule:
  """The slot-by-slot schedule of `cell` over the first `num_slots` slots (slot 0 = slot 0 of SFN 0)."""
  n_rb, scs = layout.n_rb, layout.scs_khz
  n_sc = N_SC * n_rb
  codes = np.zeros((num_slots, SYMBOLS, n_sc), np.uint8)
  dcis = [[] for _ in range(num_slots)]
  pdsch_rbs = np.zeros((num_slots, n_rb), bool)
  ssb_symbols = layout.ssb_symbols()
  ssb_lo, ssb_hi = layout.ssb_rbs
  trs_symbols = np.zeros((num_slots, SYMBOLS), bool)
  trs_rbs = slice(0, 0)
  if cell.trs is not None:
    trs_symbols = nr_csirs.trs_symbols(cell.trs, scs, num_slots)
    first, count = nr_csirs.rb_span(cell.trs, n_rb)
    trs_rbs = slice(first, first + count)
  events = _broadcast(cell, layout, num_slots)
  css = {level: [_candidate(row) for row in np.unique(c, axis=0)]
         for level, c in nr_pdcch.type0_css_candidates(cell.coreset0.n_cce).items()} if cell.coreset0 else {}
  ue = cell.ue_coreset
  traffic = cell.load != 'idle'
  stay_busy, stay_quiet = _chain(cell.load, 10 / layout.slots_per_frame) if traffic else (0.0, 1.0)
  busy = False
  for index in range(num_slots):
    rng = np.random.default_rng([cell.key, 1, index])
    if traffic:  # drawn first in every slot, so the chain does not depend on the rest
      p_busy = BURST[cell.load][0] if index == 0 else (stay_busy if busy else 1 - stay_quiet)
      busy = bool(rng.random() < p_busy)
    dl = int(layout.downlink[index].sum())
    if dl == 0:
      continue
    reg_busy = np.zeros((SYMBOLS, n_rb), bool)
    reg_busy[ssb_symbols[index], ssb_lo:ssb_hi] = True
    reg_busy[trs_symbols[index], trs_rbs] = True
    with_ue = traffic and busy and ue.n_symbols <= dl
    slot_events = events.get(index, [])
    coreset0_end = max([first + cell.coreset0.n_symbols for _, first in slot_events], default=0)
    control_end = max(coreset0_end, ue.n_symbols * with_ue)
    # Full load: PDSCH from symbol 0 unless a CORESET0 reaches its first DM-RS symbol (a PDCCH over the DM-RS).
    slot = _Slot(index, rng, codes[index], reg_busy, np.ones(n_rb, bool), dl, control_end,
                 tuple(np.flatnonzero(trs_symbols[index])), dcis[index],
                 0 if coreset0_end <= cell.dmrs_type_a_position else coreset0_end)
    _broadcast_slot(cell, slot, slot_events, css)
    if with_ue:
      _ue_slot(cell, layout, slot)
    _paint_pdcch(slot.codes, slot.pdcch)  # after every PDSCH: a PDSCH is rate-matched around PDCCHs
    pdsch_rbs[index] = ~slot.free
  flat = codes.reshape(num_slots * SYMBOLS, n_sc)
  if cell.trs is not None:  # TRS REs are not available for PDSCH (TS 38.214 §5.1.4): they replace its REs
    k, _ = nr_csirs.trs_subcarriers(cell.trs, n_rb)
    flat[np.flatnonzero(trs_symbols.reshape(-1))[:, None], k] = TRS
  k0 = layout.ssb_first_subcarrier
  for l0, _ in layout.ssb_blocks:  # nothing else in the block's RBs (TS 38.211 §7.4.3.1, TS 38.214 §5.1.4)
    if l0 < len(flat):
      flat[l0:l0 + 4, N_SC * ssb_lo:N_SC * ssb_hi] = EMPTY
      flat[l0:l0 + 4, k0:k0 + 240][layout.ssb_active] = SSB
  has_dl = layout.downlink[:num_slots].any(axis=1)
  share = float(pdsch_rbs[has_dl].mean()) if has_dl.any() else 0.0
  return Schedule(codes=flat, dcis=dcis, pdsch_rbs=pdsch_rbs, pdsch_share=round(share, 4))
