"""NR CORESET0 and the Type0-PDCCH common search space (search space zero) in FR1, TS 38.213 §13.

The MIB's pdcch-ConfigSIB1 carries two 4-bit indices: controlResourceSetZero selects a row of one of Tables
13-1 .. 13-6 (the CORESET0 size, duration and frequency offset from the SS/PBCH block) and searchSpaceZero a
row of Table 13-11 (the slots and first symbol where the Type0-PDCCH CSS set is monitored). Every FR1 row has
SS/PBCH block and CORESET multiplexing pattern 1 (CORESET0 in other symbols than the block, over two slots).

RB indices here are at the PDCCH (CORESET) subcarrier spacing, counted from the carrier's lowest RB.
"""

from __future__ import annotations

import dataclasses
import fractions
import math

import numpy as np

from specsense_jax.signals import waveform

RB_SUBCARRIERS = 12
# Each FR1 table row: (multiplexing pattern, N_RB^CORESET, N_symb^CORESET, offset in RBs); None marks a
# reserved index. No FR1 offset depends on k_SSB (TS 38.213 §13 names k_SSB only for Tables 13-7, 13-8
# and 13-10, all FR2).
# TS 38.213 Table 13-1: {SS/PBCH block, PDCCH} SCS {15, 15} kHz, minimum channel bandwidth 5 or 10 MHz.
_TABLE_13_1 = {
    0: (1, 24, 2, 0), 1: (1, 24, 2, 2), 2: (1, 24, 2, 4), 3: (1, 24, 3, 0),
    4: (1, 24, 3, 2), 5: (1, 24, 3, 4), 6: (1, 48, 1, 12), 7: (1, 48, 1, 16),
    8: (1, 48, 2, 12), 9: (1, 48, 2, 16), 10: (1, 48, 3, 12), 11: (1, 48, 3, 16),
    12: (1, 96, 1, 38), 13: (1, 96, 2, 38), 14: (1, 96, 3, 38), 15: None,
}
# TS 38.213 Table 13-2: {15, 30} kHz, minimum channel bandwidth 5 or 10 MHz.
_TABLE_13_2 = {
    0: (1, 24, 2, 5), 1: (1, 24, 2, 6), 2: (1, 24, 2, 7), 3: (1, 24, 2, 8),
    4: (1, 24, 3, 5), 5: (1, 24, 3, 6), 6: (1, 24, 3, 7), 7: (1, 24, 3, 8),
    8: (1, 48, 1, 18), 9: (1, 48, 1, 20), 10: (1, 48, 2, 18), 11: (1, 48, 2, 20),
    12: (1, 48, 3, 18), 13: (1, 48, 3, 20), 14: None, 15: None,
}
# TS 38.213 Table 13-3: {30, 15} kHz, minimum channel bandwidth 5 or 10 MHz.
_TABLE_13_3 = {
    0: (1, 48, 1, 2), 1: (1, 48, 1, 6), 2: (1, 48, 2, 2), 3: (1, 48, 2, 6),
    4: (1, 48, 3, 2), 5: (1, 48, 3, 6), 6: (1, 96, 1, 28), 7: (1, 96, 2, 28),
    8: (1, 96, 3, 28), 9: None, 10: None, 11: None,
    12: None, 13: None, 14: None, 15: None,
}
# TS 38.213 Table 13-4: {30, 30} kHz, minimum channel bandwidth 5 or 10 MHz (no reserved row).
_TABLE_13_4 = {
    0: (1, 24, 2, 0), 1: (1, 24, 2, 1), 2: (1, 24, 2, 2), 3: (1, 24, 2, 3),
    4: (1, 24, 2, 4), 5: (1, 24, 3, 0), 6: (1, 24, 3, 1), 7: (1, 24, 3, 2),
    8: (1, 24, 3, 3), 9: (1, 24, 3, 4), 10: (1, 48, 1, 12), 11: (1, 48, 1, 14),
    12: (1, 48, 1, 16), 13: (1, 48, 2, 12), 14: (1, 48, 2, 14), 15: (1, 48, 2, 16),
}
# TS 38.213 Table 13-5: {30, 15} kHz, minimum channel bandwidth 40 MHz (and the bands of note 17 of
# TS 38.101-1 Table 5.2-1).
_TABLE_13_5 = {
    0: (1, 48, 1, 4), 1: (1, 48, 2, 4), 2: (1, 48, 3, 4), 3: (1, 96, 1, 0),
    4: (1, 96, 1, 56), 5: (1, 96, 2, 0), 6: (1, 96, 2, 56), 7: (1, 96, 3, 0),
    8: (1, 96, 3, 56), 9: None, 10: None, 11: None,
    12: None, 13: None, 14: None, 15: None,
}
# TS 38.213 Table 13-6: {30, 30} kHz, minimum channel bandwidth 40 MHz (and note-17 bands, as 13-5).
_TABLE_13_6 = {
    0: (1, 24, 2, 0), 1: (1, 24, 2, 4), 2: (1, 24, 3, 0), 3: (1, 24, 3, 4),
    4: (1, 48, 1, 0), 5: (1, 48, 1, 28), 6: (1, 48, 2, 0), 7: (1, 48, 2, 28),
    8: (1, 48, 3, 0), 9: (1, 48, 3, 28), 10: None, 11: None,
    12: None, 13: None, 14: None, 15: None,
}
# Minimum channel bandwidth of the band (MHz) -> the table group it selects.
BANDWIDTH_CLASSES = {5: '5/10 MHz', 10: '5/10 MHz', 40: '40 MHz'}
# (SS/PBCH block SCS kHz, PDCCH SCS kHz, bandwidth class) -> (table name, rows).
CORESET0_TABLES = {
    (15, 15, '5/10 MHz'): ('13-1', _TABLE_13_1),
    (15, 30, '5/10 MHz'): ('13-2', _TABLE_13_2),
    (30, 15, '5/10 MHz'): ('13-3', _TABLE_13_3),
    (30, 30, '5/10 MHz'): ('13-4', _TABLE_13_4),
    (30, 15, '40 MHz'): ('13-5', _TABLE_13_5),
    (30, 30, '40 MHz'): ('13-6', _TABLE_13_6),
}
# TS 38.213 §4.1: in FR1 a CORESET for the Type0-PDCCH CSS set is present if k_SSB < 24.
MAX_K_SSB = 23

# First symbol "{0 if i is even, N_symb^CORESET if i is odd}" of Table 13-11 (two search space sets a slot).
ALTERNATING = 'alternating'
# TS 38.213 Table 13-11 (multiplexing pattern 1, FR1): (O, number of search space sets per slot, M, first
# symbol index); every index is defined.
TABLE_13_11 = {
    0: (0, 1, fractions.Fraction(1), 0),
    1: (0, 2, fractions.Fraction(1, 2), ALTERNATING),
    2: (2, 1, fractions.Fraction(1), 0),
    3: (2, 2, fractions.Fraction(1, 2), ALTERNATING),
    4: (5, 1, fractions.Fraction(1), 0),
    5: (5, 2, fractions.Fraction(1, 2), ALTERNATING),
    6: (7, 1, fractions.Fraction(1), 0),
    7: (7, 2, fractions.Fraction(1, 2), ALTERNATING),
    8: (0, 1, fractions.Fraction(2), 0),
    9: (5, 1, fractions.Fraction(2), 0),
    10: (0, 1, fractions.Fraction(1), 1),
    11: (0, 1, fractions.Fraction(1), 2),
    12: (2, 1, fractions.Fraction(1), 1),
    13: (2, 1, fractions.Fraction(1), 2),
    14: (5, 1, fractions.Fraction(1), 1),
    15: (5, 1, fractions.Fraction(1), 2),
}
_MU = {15: 0, 30: 1}  # PDCCH SCS (kHz) -> numerology mu, FR1
MAX_SSB_INDEX = 7  # FR1 without shared spectrum: L_max <= 8 (TS 38.213 §4.1)


@dataclasses.dataclass(frozen=True)
class Coreset0:
  """One row of TS 38.213 Tables 13-1 .. 13-6.

  Attributes:
    pattern: SS/PBCH block and CORESET multiplexing pattern (1 throughout FR1).
    n_rb: N_RB^CORESET, RBs at the PDCCH SCS.
    n_symbols: N_symb^CORESET, 1..3.
    offset_rb: RBs from the CORESET's lowest RB to the lowest RB of the common RB overlapping the first RB of
      the SS/PBCH block (TS 38.213 §13).
  """
  pattern: int
  n_rb: int
  n_symbols: int
  offset_rb: int

  def first_rb(self, ssb_rb: int) -> int:
    """The CORESET's lowest RB given `ssb_rb`, the RB overlapping the SS/PBCH block's subcarrier 0."""
    return int(ssb_rb) - self.offset_rb


@dataclasses.dataclass(frozen=True)
class Type0Occasion:
  """The Type0-PDCCH CSS monitoring occasion of one SS/PBCH block (pattern 1, TS 38.213 §13).

  Attributes:
    n0: first monitoring slot within its frame, (O·2^mu + floor(i·M)) mod N_slot^frame.
    sfn_parity: 0 if it is in frames with even SFN, 1 if odd.
    slots: the two monitoring slots n0 and n0 + 1, counted from slot 0 of an even frame (the pattern repeats
      every two frames, 20 ms); n0 + 1 may be slot 0 of the next frame.
    first_symbol: first CORESET symbol in both slots.
    sets_per_slot: search space sets per slot (2: two SS/PBCH blocks share a slot, one after the other).
  """
  n0: int
  sfn_parity: int
  slots: tuple[int, int]
  first_symbol: int
  sets_per_slot: int


def _check_int(name: str, value, allowed, what: str) -> int:
  return waveform.check_int(name, value, lambda v: v in allowed, what)


def _table(ssb_scs_khz: int, pdcch_scs_khz: int, min_channel_bw_mhz: float) -> tuple[str, dict]:
  """(name, rows) of the CORESET0 table of an SCS pair and minimum channel bandwidth, or ValueError."""
  pairs = sorted({(s, p) for s, p, _ in CORESET0_TABLES})
  if (ssb_scs_khz, pdcch_scs_khz) not in pairs or isinstance(ssb_scs_khz, bool) or isinstance(pdcch_scs_khz, bool):
    raise ValueError(f'(ssb_scs_khz, pdcch_scs_khz) must be one of {pairs} (FR1, TS 38.213 Tables 13-1 .. 13-6), '
                     f'got ({ssb_scs_khz!r}, {pdcch_scs_khz!r})')
  bw_class = None
  if not isinstance(min_channel_bw_mhz, bool) and isinstance(min_channel_bw_mhz, (int, float, np.number)):
    bw_class = BANDWIDTH_CLASSES.get(min_channel_bw_mhz)
  if bw_class is None:
    raise ValueError(f'min_channel_bw_mhz must be one of {sorted(BANDWIDTH_CLASSES)} (the band\'s minimum channel '
                     f'bandwidth; 3 MHz bands use Table 13-0, not implemented), got {min_channel_bw_mhz!r}')
  key = (ssb_scs_khz, pdcch_scs_khz, bw_class)
  if key not in CORESET0_TABLES:
    allowed = [bw for bw, c in BANDWIDTH_CLASSES.items() if (ssb_scs_khz, pdcch_scs_khz, c) in CORESET0_TABLES]
    raise ValueError(f'min_channel_bw_mhz={min_channel_bw_mhz!r}: no CORESET0 table for {{SS/PBCH block, PDCCH}} '
                     f'SCS {{{ssb_scs_khz}, {pdcch_scs_khz}}} kHz at that bandwidth; allowed: {allowed}')
  return CORESET0_TABLES[key]


def coreset0_indices(ssb_scs_khz: int, pdcch_scs_khz: int, min_channel_bw_mhz: float = 5) -> tuple[int, ...]:
  """The defined (not reserved) controlResourceSetZero indices of the table these arguments select."""
  _, rows = _table(ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz)
  return tuple(i for i, row in rows.items() if row is not None)


def coreset0(index: int, ssb_scs_khz: int, pdcch_scs_khz: int, min_channel_bw_mhz: float = 5,
             k_ssb: int = 0) -> Coreset0:
  """CORESET0 of a controlResourceSetZero index (TS 38.213 §13, Tables 13-1 .. 13-6).

  Args:
    index: controlResourceSetZero, 0..15.
    ssb_scs_khz: SS/PBCH block SCS, 15 or 30.
    pdcch_scs_khz: subCarrierSpacingCommon, 15 or 30.
    min_channel_bw_mhz: minimum channel bandwidth of the band: 5 or 10 (Tables 13-1 .. 13-4) or 40 (13-5, 13-6).
    k_ssb: subcarrier offset of the SS/PBCH block, 0..23 in FR1 (k_SSB > 23 means no CORESET0, TS 38.213 §4.1);
      checked only, as no FR1 row depends on it.

  Returns:
    The row as a `Coreset0`.
  """
  name, rows = _table(ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz)
  _check_int('k_ssb', k_ssb, range(MAX_K_SSB + 1), f'an int in [0, {MAX_K_SSB}] (FR1; k_SSB > {MAX_K_SSB} signals '
             'no CORESET for the Type0-PDCCH CSS set, TS 38.213 §4.1)')
  index = _check_int('index', index, range(16), 'an int in [0, 15] (controlResourceSetZero)')
  if rows[index] is None:
    raise ValueError(f'index {index} is reserved in TS 38.213 Table {name}; defined indices: '
                     f'{coreset0_indices(ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz)}')
  return Coreset0(*rows[index])


def ssb_common_rb(n_crb_ssb: int, k_ssb: int, pdcch_scs_khz: int) -> int:
  """The common RB at the PDCCH SCS that overlaps subcarrier 0 of the SS/PBCH block, which `offset_rb` counts from.

  In FR1, N_CRB^SSB (offsetToPointA) counts 15 kHz RBs and k_SSB 15 kHz subcarriers, and the centre of
  subcarrier 0 of RB N_CRB^SSB is that of a common RB at subCarrierSpacingCommon (TS 38.211 §7.4.3.1).
  """
  pdcch_scs_khz = _check_int('pdcch_scs_khz', pdcch_scs_khz, _MU, f'one of {sorted(_MU)}')
  k_ssb = _check_int('k_ssb', k_ssb, range(MAX_K_SSB + 1), f'an int in [0, {MAX_K_SSB}] (FR1)')
  rb_width = RB_SUBCARRIERS * pdcch_scs_khz // 15  # a PDCCH-SCS RB in 15 kHz subcarriers
  if isinstance(n_crb_ssb, bool) or not isinstance(n_crb_ssb, (int, np.integer)) or n_crb_ssb < 0 or (
      RB_SUBCARRIERS * n_crb_ssb) % rb_width:
    raise ValueError(f'n_crb_ssb must be a non-negative int whose RB starts on a {pdcch_scs_khz} kHz common RB '
                     f'(a multiple of {rb_width // RB_SUBCARRIERS}, TS 38.211 §7.4.3.1), got {n_crb_ssb!r}')
  return (RB_SUBCARRIERS * int(n_crb_ssb) + k_ssb) // rb_width


def usable_coreset0_indices(carrier_n_rb: int, ssb_rb: int, ssb_scs_khz: int, pdcch_scs_khz: int,
                            min_channel_bw_mhz: float = 5, k_ssb: int = 0) -> tuple[int, ...]:
  """The controlResourceSetZero indices whose CORESET0 lies inside the carrier.

  Args:
    carrier_n_rb: carrier RBs at the PDCCH SCS.
    ssb_rb: carrier RB at the PDCCH SCS overlapping subcarrier 0 of the SS/PBCH block (`ssb_common_rb` less the
      carrier's first common RB); the CORESET0 starts `offset_rb` below it (TS 38.213 §13).
    ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz, k_ssb: as for `coreset0`.

  Returns:
    The usable indices in increasing order (possibly none).
  """
  if isinstance(carrier_n_rb, bool) or not isinstance(carrier_n_rb, (int, np.integer)) or carrier_n_rb < 1:
    raise ValueError(f'carrier_n_rb must be a positive int, got {carrier_n_rb!r}')
  if isinstance(ssb_rb, bool) or not isinstance(ssb_rb, (int, np.integer)) or not 0 <= ssb_rb < carrier_n_rb:
    raise ValueError(f'ssb_rb must be an int in [0, {carrier_n_rb - 1}] (an RB of the carrier), got {ssb_rb!r}')
  usable = []
  for index in coreset0_indices(ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz):
    c = coreset0(index, ssb_scs_khz, pdcch_scs_khz, min_channel_bw_mhz, k_ssb)
    if 0 <= c.first_rb(ssb_rb) and c.first_rb(ssb_rb) + c.n_rb <= carrier_n_rb:
      usable.append(index)
  return tuple(usable)


def type0_pdcch_occasion(search_space0_index: int, ssb_index: int, pdcch_scs_khz: int,
                         coreset_symbols: int) -> Type0Occasion:
  """Where the Type0-PDCCH CSS set of SS/PBCH block i is monitored (TS 38.213 §13, Table 13-11, pattern 1, FR1).

  TS 38.213 §13: n0 = (O·2^mu + floor(i·M)) mod N_slot^frame,mu, in a frame with SFN_C mod 2 equal to
  floor((O·2^mu + floor(i·M)) / N_slot^frame,mu) mod 2; the UE monitors slots n0 and n0 + 1 (mu in {0, 1, 2, 3}).

  Args:
    search_space0_index: searchSpaceZero, 0..15.
    ssb_index: SS/PBCH block index i, 0..7.
    pdcch_scs_khz: CORESET0 SCS (subCarrierSpacingCommon), 15 or 30.
    coreset_symbols: N_symb^CORESET, 1..3 (the first symbol of odd i where two sets share a slot).

  Returns:
    The `Type0Occasion`.
  """
  index = _check_int('search_space0_index', search_space0_index, TABLE_13_11, 'an int in [0, 15] (searchSpaceZero)')
  i = _check_int('ssb_index', ssb_index, range(MAX_SSB_INDEX + 1), f'an int in [0, {MAX_SSB_INDEX}] (FR1, L_max <= 8)')
  mu = _MU[_check_int('pdcch_scs_khz', pdcch_scs_khz, _MU, f'one of {sorted(_MU)} (FR1)')]
  n_symb = _check_int('coreset_symbols', coreset_symbols, (1, 2, 3), '1, 2 or 3 (N_symb^CORESET)')
  o, sets_per_slot, m, first_symbol = TABLE_13_11[index]
  slots_per_frame = 10 * 2**mu
  x = o * 2**mu + math.floor(i * m)  # exact: m is a Fraction
  if first_symbol == ALTERNATING:
    first_symbol = 0 if i % 2 == 0 else n_symb
  first = x % (2 * slots_per_frame)
  return Type0Occasion(n0=x % slots_per_frame, sfn_parity=(x // slots_per_frame) % 2,
                       slots=(first, (first + 1) % (2 * slots_per_frame)), first_symbol=first_symbol,
                       sets_per_slot=sets_per_slot)
