"""NR PDSCH time-domain allocations and their DM-RS symbols (TS 38.214 §5.1.2.1, TS 38.211 §7.4.1.1.2), resource
block groups (TS 38.214 §5.1.2.2.1) and the DM-RS power (TS 38.214 §4.1), as the traffic model uses them.

Scope: normal cyclic prefix, single-symbol DM-RS of configuration type 1 on CDM group 0 (port 1000: the even
subcarriers k = 4n + 2k', Δ = 0), dmrs-AdditionalPosition pos0..pos2. The bandwidth part is the whole carrier
and starts at common RB 0.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

SYMBOLS_PER_SLOT = 14
N_SC = 12
MAPPING_TYPES = ('A', 'B')
TYPE_A_POSITIONS = (2, 3)  # dmrs-TypeA-Position (MIB), l0 of mapping type A
ADDITIONAL_POSITIONS = (0, 1, 2)  # dmrs-AdditionalPosition pos0, pos1, pos2 (pos3 left out)
CDM_GROUPS = (1, 2)  # DM-RS CDM groups without data (configuration type 1 has two)
# TS 38.211 Table 7.4.1.1.2-3, single-symbol DM-RS, PDSCH mapping type A: l_d (symbols from the start of the slot to
# the end of the PDSCH) -> the DM-RS symbols after l0 for pos0, pos1, pos2.
_TYPE_A_EXTRA = {
    **{l_d: ((), (), ()) for l_d in range(3, 8)},
    8: ((), (7,), (7,)), 9: ((), (7,), (7,)),
    10: ((), (9,), (6, 9)), 11: ((), (9,), (6, 9)), 12: ((), (9,), (6, 9)),
    13: ((), (11,), (7, 11)), 14: ((), (11,), (7, 11)),
}
# The same table, mapping type B (Rel-15 durations of TS 38.214 Table 5.1.2.1-1): l_d is the PDSCH duration, the
# positions count from the PDSCH's first symbol (l0 = 0).
_TYPE_B_EXTRA = {2: ((), (), ()), 4: ((), (), ()), 7: ((), (4,), (4,))}
TYPE_B_LENGTHS = tuple(_TYPE_B_EXTRA)
# TS 38.214 Table 5.1.2.2.1-1, configuration 1: nominal RBG size P by bandwidth part size (upper limit in RBs).
_RBG_SIZE = {36: 2, 72: 4, 144: 8, 275: 16}


@dataclasses.dataclass(frozen=True)
class TimeAllocation:
  """Where a PDSCH lies in its slot.

  Attributes:
    mapping: PDSCH mapping type, 'A' (slot based) or 'B' (mini-slot).
    start: S, first symbol.
    length: L, symbols.
    dmrs_symbols: slot symbols carrying DM-RS.
    cdm_groups: DM-RS CDM groups without data: 1 leaves data on the odd subcarriers of DM-RS symbols, 2 leaves
      them empty.
  """
  mapping: str
  start: int
  length: int
  dmrs_symbols: tuple[int, ...]
  cdm_groups: int

  @property
  def symbols(self) -> range:
    return range(self.start, self.start + self.length)


def dmrs_symbols(mapping: str, start: int, length: int, additional_position: int,
                 type_a_position: int = 2) -> tuple[int, ...]:
  """The DM-RS symbols of a PDSCH (TS 38.211 §7.4.1.1.2, Table 7.4.1.1.2-3), validating S and L.

  Valid S and L (TS 38.214 Table 5.1.2.1-1, normal CP): type A: S in {0, 1, 2, 3} (3 only with
  dmrs-TypeA-Position 3), L in 3..14, S + L <= 14, and the first DM-RS symbol l0 inside the PDSCH (l_d = 3 and 4
  only with dmrs-TypeA-Position 2, TS 38.211 §7.4.1.1.2); type B: L in {2, 4, 7}, S + L <= 14.

  Args:
    mapping: 'A' or 'B'.
    start: S.
    length: L.
    additional_position: dmrs-AdditionalPosition, 0..2.
    type_a_position: dmrs-TypeA-Position, 2 or 3 (type A only).

  Returns:
    Increasing slot symbol indices.
  """
  if mapping not in MAPPING_TYPES:
    raise ValueError(f'mapping must be one of {MAPPING_TYPES}, got {mapping!r}')
  if additional_position not in ADDITIONAL_POSITIONS:
    raise ValueError(f'additional_position must be one of {ADDITIONAL_POSITIONS}, got {additional_position!r}')
  if type_a_position not in TYPE_A_POSITIONS:
    raise ValueError(f'type_a_position must be one of {TYPE_A_POSITIONS}, got {type_a_position!r}')
  end = start + length
  if mapping == 'A':
    ok = (0 <= start <= 3 and (start < 3 or type_a_position == 3) and 3 <= end <= SYMBOLS_PER_SLOT
          and start <= type_a_position < end and (end > 4 or type_a_position == 2))
    if not ok:
      raise ValueError(f'PDSCH mapping type A with S={start}, L={length} is not valid with dmrs-TypeA-Position '
                       f'{type_a_position} (TS 38.214 Table 5.1.2.1-1, TS 38.211 §7.4.1.1.2)')
    return (type_a_position,) + _TYPE_A_EXTRA[end][additional_position]
  if length not in _TYPE_B_EXTRA or not 0 <= start or end > SYMBOLS_PER_SLOT:
    raise ValueError(f'PDSCH mapping type B needs L in {TYPE_B_LENGTHS} and 0 <= S, S + L <= 14 (TS 38.214 Table '
                     f'5.1.2.1-1), got S={start}, L={length}')
  return tuple(start + l for l in (0,) + _TYPE_B_EXTRA[length][additional_position])


def draw_allocation(rng: np.random.Generator, first: int, end: int, *, type_a_position: int,
                    p_type_b: float = 0.0, additional_positions=ADDITIONAL_POSITIONS, cdm_groups=CDM_GROUPS,
                    avoid: tuple[int, ...] = (), earliest: bool = False) -> TimeAllocation | None:
  """A PDSCH inside symbols [first, end) of a slot: mapping type A up to `end` when it fits, else type B.

  Type A starts at a drawn S in [first, min(3, l0)] (S = first with `earliest`) and lasts to `end`; type B
  (chosen with probability `p_type_b`, or when type A does not fit) has a drawn L of 2, 4 or 7 symbols (the
  longest that fits with `earliest`) at a drawn S >= first. The number of additional DM-RS positions is drawn
  from `additional_positions` and lowered until no DM-RS symbol falls on `avoid` (the slot's CSI-RS symbols: a
  PDSCH DM-RS and a CSI-RS never share a symbol here).

  Returns:
    The allocation, or None when nothing fits (or every choice puts DM-RS on `avoid`).
  """
  # Indexing by rng.integers draws the same numbers as rng.choice on a sequence, at a fraction of the cost.
  groups = int(cdm_groups[int(rng.integers(len(cdm_groups)))])
  extra = int(additional_positions[int(rng.integers(len(additional_positions)))])
  starts_a = _type_a_starts(first, end, type_a_position)
  if starts_a and not rng.random() < p_type_b:
    start = starts_a[0] if earliest else starts_a[int(rng.integers(len(starts_a)))]
    options = [('A', start, end - start)]
  else:
    lengths = [l for l in TYPE_B_LENGTHS if first + l <= end]
    if not lengths:
      return None
    length = lengths[-1] if earliest else lengths[int(rng.integers(len(lengths)))]
    options = [('B', s, length) for s in range(first, end - length + 1)]
    offset = 0 if earliest else int(rng.integers(len(options)))
    options = options[offset:] + options[:offset]
  for mapping, start, length in options:
    for pos in range(extra, -1, -1):
      dmrs = _dmrs_symbols(mapping, start, length, pos, type_a_position)
      if not set(dmrs).intersection(avoid):
        # TS 38.214 §5.1.6.2: a 2-symbol PDSCH of DCI format 1_0 uses one CDM group; keep that rule for all.
        return TimeAllocation(mapping, start, length, dmrs, 1 if length == 2 else groups)
  return None


_dmrs_symbols = functools.lru_cache(maxsize=None)(dmrs_symbols)  # the draws ask for a few hundred (S, L) at most


@functools.lru_cache(maxsize=None)
def _type_a_starts(first: int, end: int, type_a_position: int) -> tuple[int, ...]:
  """The valid type A starts S in [first, min(3, l0)] of a PDSCH ending at `end`."""
  return tuple(s for s in range(first, min(3, type_a_position) + 1) if _fits('A', s, end - s, type_a_position))


def _fits(mapping: str, start: int, length: int, type_a_position: int) -> bool:
  try:
    dmrs_symbols(mapping, start, length, 0, type_a_position)
  except ValueError:
    return False
  return True


def dmrs_c_init(n_id: int, slots: np.ndarray, symbols: np.ndarray, symbols_per_slot: int = 14) -> np.ndarray:
  """c_init of the PDCCH and PDSCH DMRS (TS 38.211 §7.4.1.1.1, §7.4.1.3.1), n_SCID = 0."""
  return (2**17 * (symbols_per_slot * slots + symbols + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31


def rbg_size(n_rb: int) -> int:
  """Nominal RBG size P of resource allocation type 0, configuration 1 (TS 38.214 Table 5.1.2.2.1-1)."""
  if isinstance(n_rb, bool) or not isinstance(n_rb, (int, np.integer)) or not 1 <= n_rb <= 275:
    raise ValueError(f'n_rb must be an int in [1, 275], got {n_rb!r}')
  return next(p for limit, p in _RBG_SIZE.items() if n_rb <= limit)


def dmrs_amplitude(cdm_groups: int) -> float:
  """DM-RS amplitude relative to the PDSCH data: TS 38.214 Table 4.1-1 gives the PDSCH-to-DM-RS EPRE ratio
  beta_DMRS = 0, -3, -4.77 dB for 1, 2, 3 CDM groups without data, i.e. -10·log10(groups) dB."""
  if cdm_groups not in (1, 2, 3):
    raise ValueError(f'cdm_groups must be 1, 2 or 3, got {cdm_groups!r}')
  return math.sqrt(cdm_groups)


def paint(codes: np.ndarray, rbs: np.ndarray, alloc: TimeAllocation, data_code: int, dmrs_codes: dict[int, int]
          ) -> None:
  """Marks a PDSCH in a slot's (14, 12·N_RB) code map: `data_code` on its RBs and symbols, the DM-RS code of its
  CDM groups on the even subcarriers of its DM-RS symbols (port 1000); with 2 CDM groups without data the odd
  subcarriers of those symbols are left 0 (empty)."""
  if not codes.flags.c_contiguous:  # written through a reshaped view
    raise ValueError('codes must be C-contiguous (a slot of the grid)')
  per_rb = codes.reshape(codes.shape[0], -1, N_SC)  # (14, N_RB, 12) view: index RBs, not subcarriers
  per_rb[alloc.start:alloc.start + alloc.length, rbs] = data_code
  for l in alloc.dmrs_symbols:
    if alloc.cdm_groups == 2:
      per_rb[l, rbs, 1::2] = 0
    per_rb[l, rbs, 0::2] = dmrs_codes[alloc.cdm_groups]


def contiguous_rbs(rng: np.random.Generator, free: np.ndarray, lo: int, hi: int, count: int,
                   preferred: int | None = None) -> np.ndarray | None:
  """`count` free contiguous RBs in [lo, hi) (allocation type 1, TS 38.214 §5.1.2.2.2) as a bool mask over
  `free`: starting at `preferred` if free there, else at a drawn free start; None if none fits."""
  window = free[lo:hi]
  if not 0 < count <= len(window):
    return None
  runs = np.concatenate([[0], np.cumsum(window)])  # free RBs before each position: O(N) for any count
  starts = np.flatnonzero(runs[count:] - runs[:-count] == count) + lo
  if not len(starts):
    return None
  start = preferred if preferred in starts else int(starts[rng.integers(len(starts))])
  out = np.zeros(len(free), bool)
  out[start:start + count] = True
  return out


@functools.lru_cache(maxsize=None)
def _rbg_layout(n_rb: int, rbg: int) -> tuple[np.ndarray, np.ndarray]:
  """(first RB of each RBG, RBG of each RB) of an `n_rb`-RB bandwidth part starting at CRB 0."""
  return np.arange(0, n_rb, rbg), np.arange(n_rb) // rbg


def draw_rbs(rng: np.random.Generator, free: np.ndarray, size: int) -> np.ndarray:
  """At most `size` of the `free` RBs for one PDSCH, half the time as allocation type 0 (drawn whole free RBGs,
  TS 38.214 §5.1.2.2.1, RBGs counted from CRB 0), else type 1 (the longest free run up to `size`)."""
  n_rb = len(free)
  rbg = rbg_size(n_rb)
  group_starts, group_of = _rbg_layout(n_rb, rbg)
  open_groups = np.flatnonzero(np.logical_and.reduceat(free, group_starts))
  take = min(len(open_groups), size // rbg)
  if rng.random() < 0.5 and take:
    chosen = np.zeros(len(group_starts), bool)
    chosen[rng.choice(open_groups, size=take, replace=False)] = True
    return chosen[group_of]
  # Type 1: a drawn start among those of `count` = min(size, longest run) free RBs, counted run by run (the draw
  # of `contiguous_rbs` without scanning every window).
  edges = np.diff(free.astype(np.int8), prepend=0, append=0)
  runs = list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))
  count = min(size, max((end - start for start, end in runs), default=0))
  out = np.zeros(n_rb, bool)
  if count <= 0:
    return out
  fitting = [(start, end - start - count + 1) for start, end in runs if end - start >= count]
  k = int(rng.integers(sum(n for _, n in fitting)))
  for start, n in fitting:
    if k < n:
      out[start + k:start + k + count] = True
      return out
    k -= n
  raise AssertionError('unreachable: k is below the number of starts')
