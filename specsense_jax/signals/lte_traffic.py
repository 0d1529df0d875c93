"""LTE downlink traffic of realistic cells: what an idle, lightly, moderately or heavily loaded cell schedules in
each subframe (system information, paging, unicast PDSCH) and the PDCCH DCIs that announce it.

Loads:
  'idle': only broadcast: SIB1 in subframe 5 of frames with SFN mod 2 = 0 (TS 36.331 §5.2.1.2), two SI messages
    (periods 160 and 320 ms) in one drawn subframe of each SI window (TS 36.331 §5.2.3), and paging in the paging
    occasion (subframe 9 FDD, 0 TDD; TS 36.304 §7.2, Ns = 1) of about one frame in ten. Each is announced by a
    DCI at aggregation 4 or 8 in the common search space (CCEs 0-15, TS 36.213 §9.1.1): 0-2 DCIs a subframe.
  'light', 'medium', 'heavy': everything 'idle' has, plus unicast PDSCH in busy subframes (a two-state Markov
    chain gives bursts: see BURST) over an RB share drawn per subframe from PDSCH_SHARE, split among several UEs
    with resource allocation type 0 (whole RBGs, TS 36.213 §7.1.6.1) or type 2 (contiguous RBs, §7.1.6.3); one
    DL DCI per scheduled UE and UL grants (DCI format 0) in their UE-specific search spaces.

Every draw comes from the cell's key and the subframe index, so a longer waveform of the same seed starts with
the same schedule.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from specsense_jax.signals import lte_control

LOADS = ('idle', 'light', 'medium', 'heavy')
# Share of the carrier's RBs given to unicast PDSCH in a busy subframe (uniform per subframe).
PDSCH_SHARE = {'light': (0.05, 0.30), 'medium': (0.30, 0.70), 'heavy': (0.70, 1.00)}
# Busy/quiet Markov chain per subframe: (P(busy -> busy), P(quiet -> quiet)); busy a share
# (1 - q)/((1 - b) + (1 - q)) of the time: light 38 % in bursts of 2.5 ms, medium 83 %, heavy always.
BURST = {'light': (0.6, 0.75), 'medium': (0.9, 0.5), 'heavy': (1.0, 0.0)}
DL_UES = {'light': (1, 3), 'medium': (2, 5), 'heavy': (3, 8)}  # UEs scheduled in a busy subframe
UL_GRANTS = {'light': (0, 1), 'medium': (1, 3), 'heavy': (2, 4)}  # DCI format 0 in a busy subframe
# UE-specific PDCCH aggregation levels and their probabilities (channel quality spread over the cell).
UE_AGGREGATION = ((1, 2, 4, 8), (0.3, 0.4, 0.2, 0.1))
# Control symbols per cell (the `cfi` of lte.lte_rows); idle and light cells mostly use 1-2. Narrow carriers need
# more for a 4-CCE common-search-space PDCCH (3 MHz has 2 CCEs in one symbol): N_RB up to the key -> choices.
CFI_CHOICES = {'idle': (1, 2), 'light': (1, 2), 'medium': (2, 3), 'heavy': (2, 3)}
NARROW_CFI_CHOICES = {10: (3,), 26: (2, 3)}
# CRS EPRE over PDSCH EPRE in dB: -p-a for the deployed p-a values 0, -1.77, -3, -4.77, -6 dB (TS 36.213 §5.2,
# TS 36.331 PDSCH-ConfigDedicated; P_B sets rho_B/rho_A, Table 5.2-1).
CRS_BOOST_DB = (0.0, 1.77, 3.0, 4.77, 6.0)
MAX_CRS_BOOST_DB = 6.0
SIB1_RBS = (4, 8)  # contiguous RBs of SIB1 and of each SI message (per-cell draw)
SI_PERIODS_FRAMES = (16, 32)  # si-Periodicity of SI messages 1 (SIB2) and 2, radio frames
SI_WINDOWS_MS = (5, 10, 20)  # si-WindowLength choices
PAGING_PROBABILITY = 0.1  # per paging occasion
PAGING_RBS = (2, 4)
COMMON_AGGREGATION = (4, 8)
_SFN_PERIOD = 1024
_RNTI_RANGE = (0x003D, 0xFFF4)  # C-RNTI values (TS 36.321 Table 7.1-1)


def rbg_size(n_rb: int) -> int:
  """Resource block group size P of allocation type 0 (TS 36.213 Table 7.1.6.1-1)."""
  return 1 if n_rb <= 10 else 2 if n_rb <= 26 else 3 if n_rb <= 63 else 4


def check_crs_boost(crs_boost_db) -> float:
  """float(crs_boost_db), or ValueError naming the parameter and the allowed range."""
  try:
    value = float(crs_boost_db)
  except (TypeError, ValueError):
    value = math.nan
  if isinstance(crs_boost_db, bool) or not 0 <= value <= MAX_CRS_BOOST_DB:
    raise ValueError(f'crs_boost_db must be a number in [0, {MAX_CRS_BOOST_DB:g}] dB (CRS over PDSCH EPRE, -p-a '
                     f'of TS 36.213 §5.2; deployed: {CRS_BOOST_DB}), got {crs_boost_db!r}')
  return value


@dataclasses.dataclass(frozen=True)
class FrameLayout:
  """What each subframe number 0..9 of the cell's frame allows.

  Attributes:
    n_cce: CCEs of the subframe's control region (0 where there is none: TDD uplink subframes).
    pdsch: the subframe may carry PDSCH.
    ul_grants: DCI format 0 may be sent (FDD: all; TDD: TS 36.213 Table 8-2, the subframes with PHICH).
    paging_subframe: the paging occasion (TS 36.304 §7.2, Ns = 1: 9 for FDD, 0 for TDD).
  """
  n_cce: tuple[int, ...]
  pdsch: tuple[bool, ...]
  ul_grants: tuple[bool, ...]
  paging_subframe: int


@dataclasses.dataclass(frozen=True)
class Cell:
  """Per-cell draws: control symbols, CRS boost, starting SFN, and where broadcast PDSCH goes."""
  load: str
  cfi: int
  crs_boost_db: float
  sfn0: int
  key: int
  sib1_rbs: tuple[int, int]  # (first RB, count)
  si_window_ms: int
  si_rbs: tuple[tuple[int, int], ...]  # per SI message


@dataclasses.dataclass
class Schedule:
  """What each subframe of the grid carries.

  Attributes:
    pdsch_rbs: (num_subframes, n_rb) bool: unicast PDSCH.
    si_rbs: (num_subframes, n_rb) bool: SIB1, SI message and paging PDSCH (QPSK).
    pdcch_cces: (num_subframes, max N_CCE) bool: CCEs of the DCIs sent.
    dcis: per subframe, (name, aggregation level, first CCE) of each DCI: name 'sib1', 'si1', 'si2', 'paging',
      'dl' or 'ul'.
    pdsch_share: share of RBs carrying PDSCH over the subframes that may carry it.
  """
  pdsch_rbs: np.ndarray
  si_rbs: np.ndarray
  pdcch_cces: np.ndarray
  dcis: list[list[tuple[str, int, int]]]
  pdsch_share: float


def _contiguous(rng: np.random.Generator, n_rb: int, low_high: tuple[int, int]) -> tuple[int, int]:
  count = int(rng.integers(low_high[0], low_high[1] + 1))
  count = min(count, n_rb)
  return int(rng.integers(0, n_rb - count + 1)), count


def draw_cell(rng: np.random.Generator, load: str, n_rb: int, *, cfi: int | None = None,
              crs_boost_db: float | None = None) -> Cell:
  """The per-cell draws of a traffic load; an explicit `cfi` or `crs_boost_db` replaces the drawn one."""
  if load not in LOADS:
    raise ValueError(f'load must be one of {LOADS}, got {load!r}')
  choices = next((c for limit, c in NARROW_CFI_CHOICES.items() if n_rb <= limit), CFI_CHOICES[load])
  drawn_cfi = int(rng.choice(choices))
  drawn_boost = float(rng.choice(CRS_BOOST_DB))
  sfn0 = int(rng.integers(_SFN_PERIOD))
  key = int(rng.integers(2**63))
  sib1 = _contiguous(rng, n_rb, SIB1_RBS)
  window = int(rng.choice(SI_WINDOWS_MS))
  si = tuple(_contiguous(rng, n_rb, SIB1_RBS) for _ in SI_PERIODS_FRAMES)
  return Cell(load=load, cfi=drawn_cfi if cfi is None else cfi,
              crs_boost_db=drawn_boost if crs_boost_db is None else check_crs_boost(crs_boost_db),
              sfn0=sfn0, key=key, sib1_rbs=sib1, si_window_ms=window, si_rbs=si)


def _si_sent(cell: Cell, layout: FrameLayout, message: int, n_abs: int) -> bool:
  """Whether absolute subframe n_abs is the drawn transmission of SI message `message` (0-based) in its window.

  Window of SI message n = message + 1 starts at x = (n - 1)·w ms into each period (TS 36.331 §5.2.3); the
  message goes in one subframe of it that may carry PDSCH and is not a SIB1 subframe.
  """
  period = SI_PERIODS_FRAMES[message] * 10
  x = message * cell.si_window_ms
  start = ((n_abs - x) // period) * period + x
  if not 0 <= n_abs - start < cell.si_window_ms:
    return False
  window = np.arange(start, start + cell.si_window_ms)
  sf, sfn = window % 10, (window // 10) % _SFN_PERIOD
  open_sf = np.array([layout.pdsch[s] and layout.n_cce[s] > 0 for s in sf])
  eligible = window[open_sf & ~((sf == 5) & (sfn % 2 == 0))]
  if len(eligible) == 0:
    return False
  pick = np.random.default_rng([cell.key, 1, message, int(start) % (_SFN_PERIOD * 10)]).integers(len(eligible))
  return int(eligible[pick]) == n_abs


def _place_dci(used: np.ndarray, levels, rnti: int | None, subframe: int) -> tuple[int, int] | None:
  """Marks the CCEs of the first free PDCCH candidate (trying `levels` in order); (level, first CCE) or None."""
  for level in levels:
    for cces in lte_control.search_space(len(used), level, rnti, subframe):
      if not used[cces].any():
        used[cces] = True
        return level, int(cces[0])
  return None


def _common_levels(rng: np.random.Generator) -> tuple[int, ...]:
  return COMMON_AGGREGATION if rng.random() < 0.5 else COMMON_AGGREGATION[::-1]


def _ue_levels(rng: np.random.Generator) -> tuple[int, ...]:
  """A drawn UE aggregation level first, then the others by closeness."""
  cdf, orders = _ue_level_table()
  return orders[int(np.searchsorted(cdf, rng.random(), side='right'))]  # the draw of rng.choice(levels, p=p)


@functools.lru_cache(maxsize=None)
def _ue_level_table():
  """(cdf of UE_AGGREGATION as rng.choice normalizes it, the `_ue_levels` order starting with each level)."""
  levels, p = UE_AGGREGATION
  cdf = np.cumsum(np.asarray(p, float))
  cdf /= cdf[-1]
  return cdf, tuple((first,) + tuple(sorted((l for l in levels if l != first), key=lambda l: abs(l - first)))
                    for first in levels)


def _allocate_ue(rng: np.random.Generator, free: np.ndarray, size: int, rbg: int) -> np.ndarray:
  """At most `size` free RBs for one UE: type 0 (random whole free RBGs) or type 2 (a contiguous run)."""
  n_rb = len(free)
  out = np.zeros(n_rb, bool)
  open_groups = np.flatnonzero(np.logical_and.reduceat(free, np.arange(0, n_rb, rbg)))
  take = min(len(open_groups), size // rbg)
  if rng.random() < 0.5 and take:  # type 0
    for j in rng.choice(len(open_groups), size=take, replace=False):
      out[rbg * open_groups[j]:rbg * (open_groups[j] + 1)] = True
    return out
  # Type 2: the longest run up to `size` that fits, i.e. min(size, the longest free run).
  edges = np.diff(np.concatenate([[0], free.astype(np.int8), [0]]))
  length = min(size, int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0)))
  if length > 0:
    starts = np.flatnonzero(np.convolve(free, np.ones(length, int), 'valid') == length)
    s = starts[int(rng.integers(len(starts)))]
    out[s:s + length] = True
  return out


def draw_schedule(cell: Cell, layout: FrameLayout, n_rb: int, num_subframes: int) -> Schedule:
  """The subframe-by-subframe schedule of `cell` (grid subframe i is subframe number i mod 10 of SFN
  sfn0 + i // 10)."""
  max_cce = max(max(layout.n_cce), 1)
  pdsch = np.zeros((num_subframes, n_rb), bool)
  si = np.zeros((num_subframes, n_rb), bool)
  cces = np.zeros((num_subframes, max_cce), bool)
  dcis = [[] for _ in range(num_subframes)]
  busy = False
  for i in range(num_subframes):
    rng = np.random.default_rng([cell.key, 0, i])
    if cell.load in BURST:  # drawn first in every subframe, so the chain does not depend on the layout
      stay_busy, stay_quiet = BURST[cell.load]
      p_busy = (1 - stay_quiet) / max((1 - stay_busy) + (1 - stay_quiet), 1e-12) if i == 0 else (
          stay_busy if busy else 1 - stay_quiet)
      busy = bool(rng.random() < p_busy)
    sf = i % 10
    n_abs = cell.sfn0 * 10 + i
    sfn = (n_abs // 10) % _SFN_PERIOD
    n_cce = layout.n_cce[sf]
    if n_cce == 0:
      continue
    used = np.zeros(n_cce, bool)
    free = np.ones(n_rb, bool)
    broadcast = []
    if sf == 5 and sfn % 2 == 0:
      broadcast.append(('sib1', cell.sib1_rbs))
    for message, rbs in enumerate(cell.si_rbs):
      if _si_sent(cell, layout, message, n_abs % (_SFN_PERIOD * 10)):
        broadcast.append((f'si{message + 1}', rbs))
    paging = np.random.default_rng([cell.key, 2, sfn]) if sf == layout.paging_subframe else None
    if paging is not None and paging.random() < PAGING_PROBABILITY:
      broadcast.append(('paging', _contiguous(paging, n_rb, PAGING_RBS)))
    for name, (first, count) in broadcast:
      rbs = slice(first, first + count)
      if not layout.pdsch[sf] or not free[rbs].all():
        continue
      placed = _place_dci(used, _common_levels(rng), None, sf)
      if placed:
        free[rbs] = False
        si[i, rbs] = True
        dcis[i].append((name, *placed))
    if busy and layout.pdsch[sf]:
      target = int(np.clip(round(rng.uniform(*PDSCH_SHARE[cell.load]) * n_rb), 1, free.sum()))
      num_ues = int(min(rng.integers(DL_UES[cell.load][0], DL_UES[cell.load][1] + 1), target))
      sizes = 1 + rng.multinomial(target - num_ues, np.ones(num_ues) / num_ues) if num_ues else []
      carry = 0  # RBs a UE could not take (whole RBGs, fragmentation) go to the next one
      for size in sizes:
        rnti = int(rng.integers(*_RNTI_RANGE))
        rbs = _allocate_ue(rng, free, int(size) + carry, rbg_size(n_rb))
        carry = int(size) + carry - int(rbs.sum())
        placed = _place_dci(used, _ue_levels(rng), rnti, sf) if rbs.any() else None
        if placed:
          free &= ~rbs
          pdsch[i] |= rbs
          dcis[i].append(('dl', *placed))
    if busy and layout.ul_grants[sf]:
      for _ in range(int(rng.integers(UL_GRANTS[cell.load][0], UL_GRANTS[cell.load][1] + 1))):
        placed = _place_dci(used, _ue_levels(rng), int(rng.integers(*_RNTI_RANGE)), sf)
        if placed:
          dcis[i].append(('ul', *placed))
    cces[i, :n_cce] = used
  capable = np.array([layout.pdsch[i % 10] and layout.n_cce[i % 10] > 0 for i in range(num_subframes)])
  share = float((pdsch | si)[capable].mean()) if capable.any() else 0.0
  return Schedule(pdsch_rbs=pdsch, si_rbs=si, pdcch_cces=cces, dcis=dcis, pdsch_share=round(share, 4))
