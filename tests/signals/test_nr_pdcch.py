"""PDCCH CCE-to-REG mapping (TS 38.211 §7.3.2.2), DM-RS positions (§7.4.1.3.2) and search space candidates
(TS 38.213 §10.1), against hand calculations."""

import itertools

import numpy as np
import pytest

from specsense_jax.signals import nr_coreset
from specsense_jax.signals import nr_pdcch


def _bundle_of_each_cce(bundles, bundle_size=6):
  """The REG bundle of each CCE where one bundle makes a CCE (L = 6)."""
  assert np.all(bundles == bundles[:, :1] + np.arange(6))  # 6 consecutive REGs
  return (bundles[:, 0] // bundle_size).tolist()


def test_coreset0_48_rb_1_symbol_by_hand():
  # CORESET0: L = 6, R = 2, n_shift = N_ID^cell. 48 REGs, 8 bundles, C = 48 / (6·2) = 4; x = 2c + r and
  # f(x) = (4r + c + n_shift) mod 8. n_shift = 0: x = 0..7 -> 0, 4, 1, 5, 2, 6, 3, 7.
  bundles = nr_pdcch.cce_reg_bundles(48, 1, **nr_pdcch.coreset0_mapping(0))
  assert _bundle_of_each_cce(bundles) == [0, 4, 1, 5, 2, 6, 3, 7]
  # One symbol: REG = RB, so CCE 1 is RBs 24..29.
  np.testing.assert_array_equal(nr_pdcch.reg_positions(bundles[1], 1)[0], np.arange(24, 30))
  # N_ID^cell = 1 and 9 (9 mod 8 = 1) shift every bundle by one: 1, 5, 2, 6, 3, 7, 4, 0.
  for ncellid in (1, 9):
    assert _bundle_of_each_cce(nr_pdcch.cce_reg_bundles(48, 1, **nr_pdcch.coreset0_mapping(ncellid))) == [
        1, 5, 2, 6, 3, 7, 4, 0]


def test_coreset0_24_rb_2_symbols_by_hand():
  # 24 RBs x 2 symbols = 48 REGs numbered time first (REG 2n: RB n symbol 0, REG 2n + 1: RB n symbol 1); bundle b
  # is REGs 6b..6b+5 = RBs 3b..3b+2 in both symbols. N_ID^cell = 17: n_shift mod 8 = 1 -> 1, 5, 2, 6, 3, 7, 4, 0.
  bundles = nr_pdcch.cce_reg_bundles(24, 2, **nr_pdcch.coreset0_mapping(17))
  assert _bundle_of_each_cce(bundles) == [1, 5, 2, 6, 3, 7, 4, 0]
  rb, symbol = nr_pdcch.reg_positions(bundles[0], 2)
  np.testing.assert_array_equal(rb, [3, 3, 4, 4, 5, 5])
  np.testing.assert_array_equal(symbol, [0, 1, 0, 1, 0, 1])
  rb, symbol = nr_pdcch.reg_positions(bundles[7], 2)  # bundle 0: RBs 0..2
  np.testing.assert_array_equal(rb, [0, 0, 1, 1, 2, 2])


def test_non_interleaved_and_small_bundles_by_hand():
  # Non-interleaved: f(x) = x, CCE j = REGs 6j..6j+5; with 3 symbols, RBs 2j and 2j + 1 in all three symbols.
  bundles = nr_pdcch.cce_reg_bundles(12, 3, interleaved=False)
  np.testing.assert_array_equal(bundles, np.arange(36).reshape(6, 6))
  np.testing.assert_array_equal(nr_pdcch.reg_positions(bundles[5], 3)[0], [10, 10, 10, 11, 11, 11])
  # Interleaved L = 2, R = 3, n_shift = 5, 24 RBs x 2 symbols: 24 bundles, C = 8, f(x) = (8r + c + 5) mod 24 with
  # x = 3c + r. CCE 0 = bundles f(0), f(1), f(2) = 5, 13, 21 -> REGs 10, 11, 26, 27, 42, 43; CCE 3 = f(9), f(10),
  # f(11) = 8, 16, 0 -> REGs 16, 17, 32, 33, 0, 1.
  bundles = nr_pdcch.cce_reg_bundles(24, 2, interleaved=True, bundle_size=2, interleaver_size=3, shift_index=5)
  np.testing.assert_array_equal(bundles[0], [10, 11, 26, 27, 42, 43])
  np.testing.assert_array_equal(bundles[3], [16, 17, 32, 33, 0, 1])
  np.testing.assert_array_equal(nr_pdcch.reg_bundle_interleaver(24, 3, 5)[:4], [5, 13, 21, 6])


def _valid_configs(shifts):
  for n_rb, n_symbols in itertools.product((6, 12, 24, 48, 96, 270), (1, 2, 3)):
    yield n_rb, n_symbols, dict(interleaved=False)
    for bundle_size, r, shift in itertools.product(((2, 6) if n_symbols == 1 else (n_symbols, 6)), (2, 3, 6),
                                                   shifts):
      if (n_rb * n_symbols // bundle_size) % r == 0:  # C an integer
        yield n_rb, n_symbols, dict(interleaved=True, bundle_size=bundle_size, interleaver_size=r,
                                    shift_index=shift)


def _check_partition(n_rb, n_symbols, mapping):
  bundles = nr_pdcch.cce_reg_bundles(n_rb, n_symbols, **mapping)
  assert bundles.shape == (n_rb * n_symbols // 6, 6)
  # Every REG of the CORESET in exactly one CCE.
  np.testing.assert_array_equal(np.sort(bundles.reshape(-1)), np.arange(n_rb * n_symbols))
  size = mapping.get('bundle_size', 6)  # bundles stay whole: L consecutive REGs starting at a multiple of L
  groups = bundles.reshape(-1, size)
  assert np.all(groups % size == np.arange(size)) and np.all(np.diff(groups, axis=1) == 1)


def test_every_cce_partitions_the_coreset():
  for n_rb, n_symbols, mapping in _valid_configs(shifts=(0, 1, 7, 274)):
    _check_partition(n_rb, n_symbols, mapping)


@pytest.mark.slow
def test_every_shift_partitions_the_coreset():
  for n_rb, n_symbols, mapping in _valid_configs(shifts=range(nr_pdcch.MAX_SHIFT_INDEX + 1)):
    _check_partition(n_rb, n_symbols, mapping)


@pytest.mark.parametrize('kwargs, match', [
    (dict(n_rb_coreset=6, n_symbols=1, interleaved=True, bundle_size=2, interleaver_size=2),
     r'interleaver_size=2 does not divide the 3 REG bundles .*C = N_REG / \(L·R\)'),
    (dict(n_rb_coreset=24, n_symbols=1, interleaved=True, bundle_size=3), r'bundle_size must be one of \(2, 6\)'),
    (dict(n_rb_coreset=24, n_symbols=3, interleaved=True, bundle_size=2), r'bundle_size must be one of \(3, 6\)'),
    (dict(n_rb_coreset=24, n_symbols=2, interleaved=False, bundle_size=2),
     r'bundle_size must be one of \(6,\) for non-interleaved'),
    (dict(n_rb_coreset=24, n_symbols=2, interleaved=True, interleaver_size=4), r'interleaver_size must be one of'),
    (dict(n_rb_coreset=24, n_symbols=2, interleaved=True, shift_index=1008), r'shift_index must be an int in \[0, 1007'),
    (dict(n_rb_coreset=25, n_symbols=2, interleaved=False), 'n_rb_coreset must be a positive multiple of 6'),
    (dict(n_rb_coreset=24, n_symbols=4, interleaved=False), 'n_symbols must be 1, 2 or 3'),
])
def test_bad_mapping_names_the_parameter(kwargs, match):
  with pytest.raises(ValueError, match=match):
    nr_pdcch.cce_reg_bundles(**kwargs)


def test_dmrs_and_data_positions():
  # CORESET0 of Table 13-4 index 2 (24 RBs, 2 symbols, offset 2) with the SS/PBCH block at RB 2 of a 24-RB
  # carrier starts at RB 0; an AL 8 PDCCH on CCEs 0..7 fills it.
  c = nr_coreset.coreset0(2, 30, 30)
  start = c.first_rb(2)
  data, dmrs = nr_pdcch.pdcch_re_mask(24, start, c.n_rb, c.n_symbols, np.arange(8), **nr_pdcch.coreset0_mapping(3))
  assert data.shape == dmrs.shape == (2, 288) and not (data & dmrs).any()
  k = np.arange(288)
  np.testing.assert_array_equal(dmrs, np.broadcast_to(k % 4 == 1, (2, 288)))  # k = 12n + 4k' + 1
  np.testing.assert_array_equal(data, ~dmrs)
  # One CCE of a 24-RB CORESET at RB 10 of a 52-RB carrier, non-interleaved, 1 symbol: CCE 2 is RBs 22..27.
  data, dmrs = nr_pdcch.pdcch_re_mask(52, 10, 24, 1, [2], interleaved=False)
  rbs = np.flatnonzero(dmrs[0]) // 12
  np.testing.assert_array_equal(np.unique(rbs), np.arange(22, 28))
  np.testing.assert_array_equal(np.flatnonzero(dmrs[0])[:3], [22 * 12 + 1, 22 * 12 + 5, 22 * 12 + 9])
  assert dmrs.sum() == 6 * 3 and data.sum() == 6 * 9
  # CORESET0 N_ID^cell = 17: CCE 0 is bundle 1, RBs 3..5 in both symbols.
  data, dmrs = nr_pdcch.pdcch_re_mask(24, 0, 24, 2, [0], **nr_pdcch.coreset0_mapping(17))
  for symbol in range(2):
    np.testing.assert_array_equal(np.flatnonzero(dmrs[symbol]), [37, 41, 45, 49, 53, 57, 61, 65, 69])
    assert data[symbol].sum() == 27 and set(np.flatnonzero(data[symbol]) // 12) == {3, 4, 5}


@pytest.mark.parametrize('args, match', [
    ((24, 1, 24, 2, [0]), r'coreset_rb_start must be an int in \[0, 0\]'),
    ((24, 0, 24, 2, [8]), r'cces must be a 1-D sequence of CCE indices in \[0, 7\]'),
    ((24, 0, 24, 2, [0.5]), 'cces must be'),
])
def test_bad_mask_arguments(args, match):
  with pytest.raises(ValueError, match=match):
    nr_pdcch.pdcch_re_mask(*args, **nr_pdcch.coreset0_mapping(0))


# Type0-PDCCH CSS (Y = 0, Table 10.1-1: 4 candidates at AL 4, 2 at AL 8, 1 at AL 16): the first CCE of each
# candidate, L·(floor(m·N_CCE / (L·M)) mod floor(N_CCE / L)).
TYPE0_FIRST_CCES = {
    # 8 CCEs (24 RBs x 2 symbols or 48 x 1): AL 4: 4·(floor(m/2) mod 2); AL 8: 0, 0; no AL 16 candidate fits.
    8: {4: [0, 0, 4, 4], 8: [0, 0], 16: []},
    # 16 CCEs (48 x 2, 96 x 1): AL 4: 4m; AL 8: 8m; AL 16: 0.
    16: {4: [0, 4, 8, 12], 8: [0, 8], 16: [0]},
    # 24 CCEs (48 x 3): AL 4: 4·floor(3m/2) = 0, 4, 12, 16; AL 8: 8·floor(3m/2) = 0, 8; AL 16: 16·(0 mod 1) = 0.
    24: {4: [0, 4, 12, 16], 8: [0, 8], 16: [0]},
    # 48 CCEs (96 x 3): AL 4: 4·3m = 0, 12, 24, 36; AL 8: 8·3m = 0, 24; AL 16: 0.
    48: {4: [0, 12, 24, 36], 8: [0, 24], 16: [0]},
}


@pytest.mark.parametrize('n_rb, n_symbols', [(24, 2), (48, 1), (48, 2), (96, 1), (48, 3), (96, 3)])
def test_type0_candidates_in_coreset0(n_rb, n_symbols):
  n_cce = nr_pdcch.num_cces(n_rb, n_symbols)
  candidates = nr_pdcch.type0_css_candidates(n_cce)
  assert sorted(candidates) == [4, 8, 16]
  for level, firsts in TYPE0_FIRST_CCES[n_cce].items():
    expected = np.array(firsts, np.int64).reshape(-1, 1) + np.arange(level)
    np.testing.assert_array_equal(candidates[level], expected.reshape(len(firsts), level))
    assert np.all(candidates[level] < n_cce)


def test_uss_hashing_by_hand():
  # C-RNTI 17921 (0x4601), CORESET p = 1: A_1 = 39829, D = 65537. Slot 0: Y = 39829·17921 mod 65537
  # = 713775509 - 10891·65537 = 12042; slot 1: Y = 39829·12042 mod 65537 = 21052.
  assert nr_pdcch.uss_hash(17921, 1, 0) == 12042
  assert nr_pdcch.uss_hash(17921, 1, 1) == 21052
  assert nr_pdcch.uss_hash(17921, 4, 1) == 21052  # p mod 3 selects A_p
  assert nr_pdcch.uss_hash(1, 0, 0) == 39827 and nr_pdcch.uss_hash(1, 2, 0) == 39839
  # 16 CCEs, AL 2, 4 candidates: 2·((12042 + floor(m·16/8)) mod 8) = 2·((2 + 2m) mod 8) = 4, 8, 12, 0.
  candidates = nr_pdcch.search_space_candidates(16, 2, 4, slot=0, n_rnti=17921, coreset_id=1)
  np.testing.assert_array_equal(candidates, [[4, 5], [8, 9], [12, 13], [0, 1]])
  # The common search space ignores the RNTI hash (Y = 0): 0, 4, 8, 12.
  np.testing.assert_array_equal(nr_pdcch.search_space_candidates(16, 2, 4)[:, 0], [0, 4, 8, 12])
  # M_max (cross-carrier) spreads candidates as if there were more: floor(m·16/(2·8)) = m -> 2·((2 + m) mod 8).
  np.testing.assert_array_equal(
      nr_pdcch.search_space_candidates(16, 2, 4, n_rnti=17921, coreset_id=1, max_candidates=8)[:, 0], [4, 6, 8, 10])


@pytest.mark.parametrize('kwargs, match', [
    (dict(aggregation_level=3), r'aggregation_level must be one of \(1, 2, 4, 8, 16\)'),
    (dict(num_candidates=9), r'num_candidates must be an int in \[0, 8\]'),
    (dict(n_rnti=0), r'n_rnti must be an int in \[1, 65535\]'),
    (dict(max_candidates=1), r'max_candidates must be an int in \[2, 8\]'),
    (dict(n_cce=0), 'n_cce must be a positive int'),
    (dict(n_rnti=5, slot=-1), 'slot must be a non-negative int'),
])
def test_bad_candidate_arguments(kwargs, match):
  args = dict(n_cce=16, aggregation_level=4, num_candidates=2)
  with pytest.raises(ValueError, match=match):
    nr_pdcch.search_space_candidates(**{**args, **kwargs})
