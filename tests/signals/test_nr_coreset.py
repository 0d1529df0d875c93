"""CORESET0 (TS 38.213 §13, Tables 13-1 .. 13-6) and Type0-PDCCH search space zero (Table 13-11) in FR1."""

import fractions

import pytest

from specsense_jax.signals import nr_coreset

# TS 38.213 Tables 13-1 .. 13-6 written out again column by column (N_RB^CORESET, N_symb^CORESET and offset of
# indices 0..15, '-' for a reserved index), so the test does not read the module's tables. Transcribed from the
# Rel-18 text of clause 13 and compared with an independent Rel-15-based transcription (OpenAirInterface's
# tables); every FR1 row has multiplexing pattern 1.
EXPECTED_TABLES = {
    # Table 13-1, {15, 15} kHz, minimum channel bandwidth 5 or 10 MHz.
    (15, 15, 5): ('13-1', '24 24 24 24 24 24 48 48 48 48 48 48 96 96 96 -', '2 2 2 3 3 3 1 1 2 2 3 3 1 2 3 -',
                  '0 2 4 0 2 4 12 16 12 16 12 16 38 38 38 -'),
    # Table 13-2, {15, 30} kHz, 5 or 10 MHz.
    (15, 30, 5): ('13-2', '24 24 24 24 24 24 24 24 48 48 48 48 48 48 - -', '2 2 2 2 3 3 3 3 1 1 2 2 3 3 - -',
                  '5 6 7 8 5 6 7 8 18 20 18 20 18 20 - -'),
    # Table 13-3, {30, 15} kHz, 5 or 10 MHz.
    (30, 15, 5): ('13-3', '48 48 48 48 48 48 96 96 96 - - - - - - -', '1 1 2 2 3 3 1 2 3 - - - - - - -',
                  '2 6 2 6 2 6 28 28 28 - - - - - - -'),
    # Table 13-4, {30, 30} kHz, 5 or 10 MHz: no reserved index.
    (30, 30, 5): ('13-4', '24 24 24 24 24 24 24 24 24 24 48 48 48 48 48 48', '2 2 2 2 2 3 3 3 3 3 1 1 1 2 2 2',
                  '0 1 2 3 4 0 1 2 3 4 12 14 16 12 14 16'),
    # Table 13-5, {30, 15} kHz, 40 MHz.
    (30, 15, 40): ('13-5', '48 48 48 96 96 96 96 96 96 - - - - - - -', '1 2 3 1 1 2 2 3 3 - - - - - - -',
                   '4 4 4 0 56 0 56 0 56 - - - - - - -'),
    # Table 13-6, {30, 30} kHz, 40 MHz.
    (30, 30, 40): ('13-6', '24 24 24 24 48 48 48 48 48 48 - - - - - -', '2 2 3 3 1 1 2 2 3 3 - - - - - -',
                   '0 4 0 4 0 28 0 28 0 28 - - - - - -'),
}
# TS 38.213 Table 13-11 written out again: O, search space sets per slot, M and first symbol of indices 0..15;
# 'a' is "0 if i is even, N_symb^CORESET if i is odd".
TABLE_13_11_O = [0, 0, 2, 2, 5, 5, 7, 7, 0, 5, 0, 0, 2, 2, 5, 5]
TABLE_13_11_SETS = [1, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1]
TABLE_13_11_M = ['1', '1/2', '1', '1/2', '1', '1/2', '1', '1/2', '2', '2', '1', '1', '1', '1', '1', '1']
TABLE_13_11_FIRST = [0, 'a', 0, 'a', 0, 'a', 0, 'a', 0, 0, 1, 2, 1, 2, 1, 2]


def _rows(key):
  _, rbs, symbols, offsets = EXPECTED_TABLES[key]
  return [None if r == '-' else (1, int(r), int(s), int(o))
          for r, s, o in zip(rbs.split(), symbols.split(), offsets.split())]


@pytest.mark.parametrize('key', list(EXPECTED_TABLES))
def test_every_index_of_every_table(key):
  ssb, pdcch, bw = key
  name, expected = EXPECTED_TABLES[key][0], _rows(key)
  assert len(expected) == 16
  for bw_alias in ((5, 10) if bw == 5 else (40, 40.0)):  # 5 and 10 MHz select the same table
    assert nr_coreset.coreset0_indices(ssb, pdcch, bw_alias) == tuple(i for i, r in enumerate(expected) if r)
    for index, row in enumerate(expected):
      if row is None:
        with pytest.raises(ValueError, match=rf'index {index} is reserved in TS 38.213 Table {name}'):
          nr_coreset.coreset0(index, ssb, pdcch, bw_alias)
        continue
      c = nr_coreset.coreset0(index, ssb, pdcch, bw_alias)
      assert (c.pattern, c.n_rb, c.n_symbols, c.offset_rb) == row, (key, index)
      # No FR1 offset depends on k_SSB (TS 38.213 §13 names k_SSB for the FR2 Tables 13-7, 13-8, 13-10 only).
      assert nr_coreset.coreset0(index, ssb, pdcch, bw_alias, k_ssb=23) == c


def test_spot_checks_by_row():
  # A few rows read once more from their own table: Table 13-4 index 7 (24 RBs, 3 symbols, offset 2), Table 13-1
  # index 12 (96, 1, 38), Table 13-2 index 9 (48, 1, 20), Table 13-5 index 4 (96, 1, 56), Table 13-6 index 9.
  assert nr_coreset.coreset0(7, 30, 30) == nr_coreset.Coreset0(1, 24, 3, 2)
  assert nr_coreset.coreset0(12, 15, 15, 10) == nr_coreset.Coreset0(1, 96, 1, 38)
  assert nr_coreset.coreset0(9, 15, 30) == nr_coreset.Coreset0(1, 48, 1, 20)
  assert nr_coreset.coreset0(4, 30, 15, 40) == nr_coreset.Coreset0(1, 96, 1, 56)
  assert nr_coreset.coreset0(9, 30, 30, 40) == nr_coreset.Coreset0(1, 48, 3, 28)


@pytest.mark.parametrize('call, match', [
    (lambda: nr_coreset.coreset0(0, 60, 30), r'\(ssb_scs_khz, pdcch_scs_khz\) must be one of \[\(15, 15\)'),
    (lambda: nr_coreset.coreset0(0, 15, 60), r'got \(15, 60\)'),
    (lambda: nr_coreset.coreset0(0, 15, 15, 20), r'min_channel_bw_mhz must be one of \[5, 10, 40\]'),
    (lambda: nr_coreset.coreset0(0, 15, 15, 3), 'Table 13-0, not implemented'),
    (lambda: nr_coreset.coreset0(0, 15, 30, 40), r'SCS \{15, 30\} kHz at that bandwidth; allowed: \[5, 10\]'),
    (lambda: nr_coreset.coreset0(16, 30, 30), r'index must be an int in \[0, 15\]'),
    (lambda: nr_coreset.coreset0(True, 30, 30), r'index must be an int in \[0, 15\]'),
    (lambda: nr_coreset.coreset0(0, 30, 30, k_ssb=24), r'k_ssb must be an int in \[0, 23\]'),
    (lambda: nr_coreset.coreset0_indices(15, 15, 40), 'no CORESET0 table'),
])
def test_bad_arguments_name_the_parameter(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_usable_indices_inside_the_carrier():
  # 10 MHz at 30 kHz: 24 RBs, SS/PBCH block at RB 2 (as nr.py centres it): a 24-RB CORESET0 must start at RB 0,
  # offset 2: Table 13-4 indices 2 (2 symbols) and 7 (3 symbols).
  assert nr_coreset.usable_coreset0_indices(24, 2, 30, 30) == (2, 7)
  assert nr_coreset.coreset0(2, 30, 30).first_rb(2) == 0
  # 20 MHz at 30 kHz: 51 RBs, block at RB 15: every 24-RB row; 48-RB rows need offset <= 15 and 15 - offset + 48
  # <= 51, so offsets 12 and 14 (indices 10, 11, 13, 14) but not 16.
  assert nr_coreset.usable_coreset0_indices(51, 15, 30, 30) == (*range(10), 10, 11, 13, 14)
  # 5 MHz at 15 kHz: 25 RBs, block at RB 2: only offset 2 leaves 24 RBs inside (Table 13-1 indices 1 and 4).
  assert nr_coreset.usable_coreset0_indices(25, 2, 15, 15) == (1, 4)
  # {15, 30} kHz at 10 MHz (24 RBs of 30 kHz), block at 30 kHz RB 6: offset 6 only (Table 13-2 indices 1, 5).
  assert nr_coreset.usable_coreset0_indices(24, 6, 15, 30, 10) == (1, 5)
  assert nr_coreset.usable_coreset0_indices(24, 23, 30, 30) == ()
  with pytest.raises(ValueError, match=r'ssb_rb must be an int in \[0, 23\]'):
    nr_coreset.usable_coreset0_indices(24, 24, 30, 30)
  with pytest.raises(ValueError, match='carrier_n_rb must be a positive int'):
    nr_coreset.usable_coreset0_indices(0, 0, 30, 30)


def test_ssb_common_rb():
  # N_CRB^SSB in 15 kHz RBs and k_SSB in 15 kHz subcarriers (TS 38.211 §7.4.3.1): subcarrier 12·N + k.
  assert nr_coreset.ssb_common_rb(10, 0, 30) == 5  # 120 // 24
  assert nr_coreset.ssb_common_rb(10, 23, 30) == 5  # 143 // 24: still the same 30 kHz RB
  assert nr_coreset.ssb_common_rb(10, 0, 15) == 10
  assert nr_coreset.ssb_common_rb(10, 13, 15) == 11  # 133 // 12
  with pytest.raises(ValueError, match='n_crb_ssb must be a non-negative int whose RB starts on a 30 kHz'):
    nr_coreset.ssb_common_rb(3, 0, 30)
  with pytest.raises(ValueError, match=r'k_ssb must be an int in \[0, 23\]'):
    nr_coreset.ssb_common_rb(2, 24, 30)


# Hand calculations of TS 38.213 §13, x = O·2^mu + floor(i·M), i = 0..7: the slot n0 = x mod N_slot and the
# SFN parity floor(x / N_slot) mod 2.
HAND = {
    # index 0 at 30 kHz: O = 0, M = 1: n0 = i, even frames.
    (0, 30): ([0, 1, 2, 3, 4, 5, 6, 7], [0] * 8),
    # index 1 at 30 kHz: O = 0, M = 1/2: two blocks a slot, n0 = floor(i / 2).
    (1, 30): ([0, 0, 1, 1, 2, 2, 3, 3], [0] * 8),
    # index 4 at 15 kHz: O = 5, M = 1: x = 5 + i; i >= 5 passes slot 9 into the odd frame.
    (4, 15): ([5, 6, 7, 8, 9, 0, 1, 2], [0, 0, 0, 0, 0, 1, 1, 1]),
    # index 6 at 30 kHz: O = 7: x = 14 + i; i >= 6 reaches slot 20, the odd frame's slot 0.
    (6, 30): ([14, 15, 16, 17, 18, 19, 0, 1], [0, 0, 0, 0, 0, 0, 1, 1]),
    # index 8 at 30 kHz: O = 0, M = 2: n0 = 2i.
    (8, 30): ([0, 2, 4, 6, 8, 10, 12, 14], [0] * 8),
    # index 9 at 15 kHz: O = 5, M = 2: x = 5 + 2i.
    (9, 15): ([5, 7, 9, 1, 3, 5, 7, 9], [0, 0, 0, 1, 1, 1, 1, 1]),
    # index 7 at 15 kHz: O = 7, M = 1/2: x = 7 + floor(i / 2).
    (7, 15): ([7, 7, 8, 8, 9, 9, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1]),
}


@pytest.mark.parametrize('index, scs', list(HAND))
def test_type0_occasions_by_hand(index, scs):
  n0, parity = HAND[(index, scs)]
  slots = 10 * scs // 15
  for i in range(8):
    occasion = nr_coreset.type0_pdcch_occasion(index, i, scs, 2)
    assert (occasion.n0, occasion.sfn_parity) == (n0[i], parity[i]), i
    start = n0[i] + slots * parity[i]
    assert occasion.slots == (start, (start + 1) % (2 * slots))


def test_type0_last_slot_wraps_into_next_frame():
  # index 9 at 15 kHz, i = 7: x = 19: slot 9 of an odd frame, then slot 0 of the next (even) frame.
  occasion = nr_coreset.type0_pdcch_occasion(9, 7, 15, 3)
  assert occasion == nr_coreset.Type0Occasion(n0=9, sfn_parity=1, slots=(19, 0), first_symbol=0, sets_per_slot=1)


@pytest.mark.parametrize('scs', [15, 30])
@pytest.mark.parametrize('coreset_symbols', [1, 2, 3])
def test_every_search_space_zero_index(scs, coreset_symbols):
  mu = {15: 0, 30: 1}[scs]
  slots = 10 * 2**mu
  for index in range(16):
    m = fractions.Fraction(TABLE_13_11_M[index])
    for i in range(8):
      occasion = nr_coreset.type0_pdcch_occasion(index, i, scs, coreset_symbols)
      x = TABLE_13_11_O[index] * 2**mu + int(i * m)  # i·M >= 0: int() is the floor
      assert (occasion.n0, occasion.sfn_parity) == (x % slots, (x // slots) % 2)
      assert occasion.slots[1] == (occasion.slots[0] + 1) % (2 * slots)
      first = TABLE_13_11_FIRST[index]
      assert occasion.first_symbol == ((0 if i % 2 == 0 else coreset_symbols) if first == 'a' else first)
      assert occasion.sets_per_slot == TABLE_13_11_SETS[index]
      assert occasion.first_symbol + coreset_symbols <= 14


@pytest.mark.parametrize('kwargs, match', [
    (dict(search_space0_index=16), r'search_space0_index must be an int in \[0, 15\]'),
    (dict(ssb_index=8), r'ssb_index must be an int in \[0, 7\]'),
    (dict(pdcch_scs_khz=60), r'pdcch_scs_khz must be one of \[15, 30\]'),
    (dict(coreset_symbols=4), 'coreset_symbols must be 1, 2 or 3'),
])
def test_type0_bad_arguments(kwargs, match):
  args = dict(search_space0_index=0, ssb_index=0, pdcch_scs_khz=30, coreset_symbols=2)
  with pytest.raises(ValueError, match=match):
    nr_coreset.type0_pdcch_occasion(**{**args, **kwargs})
