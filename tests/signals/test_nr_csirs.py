"""Tracking CSI-RS (TRS): positions, sequence and periodicity against TS 38.211 §7.4.1.5 / TS 38.214 §5.1.6.1.1
worked by hand."""

import numpy as np
import pytest

from specsense_jax.signals import nr_csirs


def _gold_literal(c_init, length):
  """TS 38.211 §5.2.1 written out bit by bit."""
  x1 = [1] + [0] * 30
  x2 = [(c_init >> i) & 1 for i in range(31)]
  for n in range(1600 + length):
    x1.append((x1[n + 3] + x1[n]) % 2)
    x2.append((x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) % 2)
  return np.array([(x1[n + 1600] + x2[n + 1600]) % 2 for n in range(length)])


def _r(c_init, m):
  """r(m) of TS 38.211 §7.4.1.5.2 for m = 0..m-1."""
  c = _gold_literal(c_init, 2 * m)
  return ((1 - 2 * c[0::2]) + 1j * (1 - 2 * c[1::2])) / np.sqrt(2)


def _grid(config, n_rb, scs_khz, num_slots):
  symbols = np.arange(14 * num_slots)
  out = np.zeros((len(symbols), 12 * n_rb), np.complex64)
  trs = nr_csirs.trs_rows(config, n_rb, scs_khz, symbols // 14, symbols % 14)
  out[trs.rows[:, None], trs.subcarriers] = trs.values
  return out


def test_one_slot_by_hand():
  # 10 MHz at 30 kHz (24 RBs), period 20 ms = 40 slots, set in slots 3 and 4, symbols 5 and 9, k0 = 2.
  config = nr_csirs.TrsConfig(period_ms=20, slot_offset=3, first_symbol=5, k0=2, n_id=500)
  grid = _grid(config, 24, 30, 40).reshape(40, 14, 288)
  energy = np.abs(grid) > 0
  assert set(zip(*np.nonzero(energy.any(axis=2)))) == {(3, 5), (3, 9), (4, 5), (4, 9)}
  k = np.flatnonzero(energy[3, 5])
  np.testing.assert_array_equal(k, sorted(12 * n + 2 + d for n in range(24) for d in (0, 4, 8)))
  # c_init = 2^10·(14·3 + 5 + 1)·(2·500 + 1) + 500 = 1024·48·1001 + 500; one QPSK value per RE, m = 0..71.
  assert nr_csirs.c_init(500, 3, 5) == 49_201_652
  np.testing.assert_allclose(grid[3, 5, k], _r(49_201_652, 72), atol=1e-6)
  np.testing.assert_allclose(grid[4, 9, k], _r((1024 * (14 * 4 + 10) * 1001 + 500) % 2**31, 72), atol=1e-6)


def test_sequence_index_counts_from_crb_0():
  # 52 of 106 RBs from RB 24 (15 kHz): the first RE is k = 12·24 + k0 and carries r(3·24) (TS 38.211 §7.4.1.5.3).
  config = nr_csirs.TrsConfig(period_ms=10, slot_offset=9, first_symbol=6, k0=3, rb_start=24, n_rbs=52, n_id=1023,
                              power_offset_db=3, slots_per_set=1)
  trs = nr_csirs.trs_rows(config, 106, 15, [9, 9, 9, 19], [6, 10, 7, 10])
  np.testing.assert_array_equal(trs.rows, [0, 1, 3])
  assert trs.subcarriers[0] == 291 and trs.subcarriers[-1] == 12 * 75 + 3 + 8 and len(trs.subcarriers) == 156
  c_init = (1024 * (14 * 9 + 6 + 1) * 2047 + 1023) % 2**31
  np.testing.assert_allclose(trs.values[0], 10**(3 / 20) * _r(c_init, 3 * 76)[72:], atol=1e-6)
  np.testing.assert_allclose(np.abs(trs.values), 10**(3 / 20), rtol=1e-6)  # powerControlOffsetSS = +3 dB
  np.testing.assert_array_equal(trs.values[1], trs.values[2])  # slot 19 of frame 1 is n_s,f = 9 again


@pytest.mark.parametrize('period, offset, scs, slots_per_set, num_slots, expected', [
    (20, 7, 30, 2, 160, [7, 8, 47, 48, 87, 88, 127, 128]),
    (40, 39, 30, 2, 160, [39, 40, 119, 120]),
    (80, 79, 15, 2, 80, [0, 79]),  # the set's second slot is slot 0 of the next period
    (10, 0, 15, 1, 80, [0, 10, 20, 30, 40, 50, 60, 70]),
    (80, 5, 30, 2, 160, [5, 6]),
])
def test_occurrence_over_80_ms(period, offset, scs, slots_per_set, num_slots, expected):
  config = nr_csirs.TrsConfig(period_ms=period, slot_offset=offset, first_symbol=4, slots_per_set=slots_per_set)
  symbols = nr_csirs.trs_symbols(config, scs, num_slots)
  assert symbols.shape == (num_slots, 14)
  np.testing.assert_array_equal(np.flatnonzero(symbols.any(axis=1)), expected)
  np.testing.assert_array_equal(np.unique(np.nonzero(symbols)[1]), [4, 8])


def test_any_subset_of_rows_matches_the_grid():
  config = nr_csirs.TrsConfig(period_ms=10, slot_offset=2, first_symbol=6, k0=1, n_id=77)
  grid = _grid(config, 51, 30, 40)
  picked = np.sort(np.random.default_rng(0).choice(len(grid), 200, replace=False))
  picked = np.union1d(picked, [2 * 14 + 6, 23 * 14 + 10])  # make sure TRS rows are among them
  trs = nr_csirs.trs_rows(config, 51, 30, picked // 14, picked % 14)
  rows = np.zeros((len(picked), 612), np.complex64)
  rows[trs.rows[:, None], trs.subcarriers] = trs.values
  np.testing.assert_array_equal(rows, grid[picked])
  np.testing.assert_array_equal(np.abs(grid).sum(axis=1) > 0, nr_csirs.trs_symbols(config, 30, 40).reshape(-1))


def test_bandwidth_rule():
  for n_rb, n_rbs, expected in [(273, None, 273), (273, 52, 52), (51, 51, 51), (24, None, 24)]:
    config = nr_csirs.TrsConfig(n_rbs=n_rbs)
    assert nr_csirs.rb_span(config, n_rb) == (0, expected)
    assert len(nr_csirs.trs_subcarriers(config, n_rb)[0]) == 3 * expected


@pytest.mark.parametrize('kwargs, match', [
    (dict(period_ms=5), r'period_ms must be one of \(10, 20, 40, 80\)'),
    (dict(first_symbol=7), r'first_symbol must be one of \(4, 5, 6\)'),
    (dict(k0=4), r'k0 must be one of \[0, 3\]'),
    (dict(n_id=1024), r'n_id must be one of \[0, 1023\]'),
    (dict(power_offset_db=1.5), r'power_offset_db must be one of \(-3, 0, 3, 6\)'),
    (dict(slots_per_set=3), 'slots_per_set must be one of'),
    (dict(period_ms=20.0), 'period_ms must be'),
    (dict(slot_offset=-1), 'slot_offset must be a non-negative int'),
    (dict(rb_start=2), 'rb_start must be a multiple of 4'),
])
def test_config_rejects(kwargs, match):
  with pytest.raises(ValueError, match=match):
    nr_csirs.TrsConfig(**kwargs)


@pytest.mark.parametrize('kwargs, n_rb, scs, match', [
    (dict(period_ms=20, slot_offset=40), 24, 30, r'slot_offset must be in \[0, 39\]'),
    (dict(period_ms=20, slot_offset=20), 52, 15, r'slot_offset must be in \[0, 19\]'),
    (dict(n_rbs=48), 106, 15, r'n_rbs must be min\(52, N_RB\) or N_RB'),
    (dict(rb_start=4), 106, 15, 'rb_start must be 0'),
    (dict(rb_start=60, n_rbs=52), 106, 15, 'exceeds the 106 RBs'),
    (dict(period_ms=10), 106, 15, 'period_ms=10 is not allowed with more than 52 RBs'),
    (dict(), 24, 60, 'scs_khz must be one of'),
])
def test_rows_reject(kwargs, n_rb, scs, match):
  with pytest.raises(ValueError, match=match):
    nr_csirs.trs_rows(nr_csirs.TrsConfig(**kwargs), n_rb, scs, [0], [4])
