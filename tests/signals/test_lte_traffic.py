"""LTE PDCCH mapping (TS 36.211 §6.8.5, TS 36.213 §9.1.1) and the 'idle'..'heavy' loads of `lte_traffic`."""

import numpy as np
import pytest

from specsense_jax.signals import lte
from specsense_jax.signals import lte_control
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import lte_traffic
from specsense_jax.signals import ofdm
from specsense_jax.signals import waveform

BAND_39 = dict(duplex='tdd', ul_dl_config=2, special_subframe_config=5)


def _plan(bandwidth, ncellid, seed, num_subframes, load, cfi=None, **kwargs):
  """The cell and schedule `lte_source` draws (its draw_seq / data_seq split of the seed)."""
  draw_seq, _ = waveform.seed_sequence(seed).spawn(2)
  n_rb = lte.n_rb_for(bandwidth)
  cell = lte_traffic.draw_cell(np.random.default_rng(draw_seq), load, n_rb, cfi=cfi)
  layout = lte.frame_layout(ncellid, n_rb, cfi=cell.cfi, **kwargs)
  return cell, layout, lte_traffic.draw_schedule(cell, layout, n_rb, num_subframes)


def _pdcch_res(ncellid, n_rb, cfi, cces, num_ports=1, phich_groups=None):
  """REs (l, k) of CCEs `cces` written out from §6.2.4 / §6.8.5 with the module's REG order and interleaver."""
  l, k0, data = lte_control.control_regs(ncellid, n_rb, cfi, num_ports)
  groups = lte.phich_group_count(n_rb, 1) if phich_groups is None else phich_groups
  blocked = np.concatenate([lte.pcfich_reg_starts(ncellid, n_rb)]
                           + [lte.phich_reg_starts(ncellid, n_rb, g) for g in range(groups)])
  free = ~((l == 0) & np.isin(k0, blocked))
  regs = lte_control.cce_regs(ncellid, int(free.sum()))[list(cces)].reshape(-1)
  mask = np.zeros((cfi, 12 * n_rb), bool)
  mask[np.repeat(l[free][regs], 4), data[free][regs].reshape(-1)] = True
  return mask


def test_subblock_interleaver_by_hand():
  # 40 quadruplets: 2 rows, 24 <NULL>s first; row 0 holds q0..q7 in columns 24..31, row 1 q8..q39. Columns read
  # in the order 1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15 (TS 36.212 Table 5.1.4-2), <NULL>s dropped.
  np.testing.assert_array_equal(lte_control.subblock_interleaver(40)[:15],
                                [9, 25, 17, 1, 33, 13, 29, 21, 5, 37, 11, 27, 19, 3, 35])
  assert sorted(lte_control.subblock_interleaver(77)) == list(range(77))
  # N_ID 3: w̄(m') = w((m' + 3) mod 40), so quadruplet w(0) = q9 (CCE 1, first) lands in REG 37, w(1) = q25
  # (CCE 2, eighth) in REG 38, w(3) = q1 (CCE 0, second) in REG 0.
  cce = lte_control.cce_regs(3, 40)
  assert cce.shape == (4, 9) and cce[1, 0] == 37 and cce[2, 7] == 38 and cce[0, 1] == 0


def test_search_spaces_by_hand():
  assert [c.tolist() for c in lte_control.search_space(20, 8)] == [list(range(8)), list(range(8, 16))]
  assert [c[0] for c in lte_control.search_space(40, 4)] == [0, 4, 8, 12]  # common: CCEs 0-15
  assert lte_control.search_space(6, 8) == [] and len(lte_control.search_space(6, 4)) == 1
  # C-RNTI 100, subframe 0: Y_0 = 39827·100 mod 65537 = 50480; L = 2 over 20 CCEs: 2·((50480 + m) mod 10).
  assert [c[0] for c in lte_control.search_space(20, 2, rnti=100, subframe=0)] == [0, 2, 4, 6, 8, 10]
  # Subframe 1: Y_1 = 39827·50480 mod 65537 = 53948; L = 4 over 20 CCEs: 4·((53948 + m) mod 5) = 12, 16.
  assert [c[0] for c in lte_control.search_space(20, 4, rnti=100, subframe=1)] == [12, 16]


def test_cce_mapping_matches_a_foreign_frame(refvectors):
  """The other generator's 30 ms frame (N_ID 11, 50 RB, CFI 3, Ng 1) sends a few DCIs: the REGs carrying energy
  are exactly whole CCEs of our mapping (only the right interleaver, shift and REG order give that)."""
  iq = np.load(refvectors.dir / 'genFrame1024_lte10MHz_15.36Msps_pci11_30ms.npy')
  rx = ofdm.demodulate(iq, ofdm.lte_numerology(15.36e6), 600, 14 * 30).reshape(30, 14, 600)
  crs = lte.lte_grid(11, 50, 30, channels=('crs',)).reshape(30, 14, 600)
  rx = rx / np.mean(rx[crs != 0] / crs[crs != 0])
  pdcch_region = lte.lte_grid(11, 50, 1, cfi=3, channels=('pdcch',)).reshape(14, 600)[:3] != 0
  sent = []
  for sf in range(30):
    on = (np.abs(rx[sf, :3]) > 0.5) & pdcch_region
    cces = [c for c in range(41) if on[_pdcch_res(11, 50, 3, [c])].all()]
    np.testing.assert_array_equal(on, _pdcch_res(11, 50, 3, cces), err_msg=f'subframe {sf}')
    sent.append(cces)
  assert sent[:6] == [[0, 4], [], [], [], [], [4]] and sum(map(len, sent)) == 9


def test_sib1_only_in_subframe_5_of_even_frames():
  for seed in range(6):
    cell, _, schedule = _plan(10, 3, seed, 40, 'idle')
    sib1 = [i for i, dcis in enumerate(schedule.dcis) for name, *_ in dcis if name == 'sib1']
    assert sib1 == [i for i in range(40) if i % 10 == 5 and (cell.sfn0 + i // 10) % 2 == 0], seed
    for i, dcis in enumerate(schedule.dcis):
      assert len(dcis) <= 2 and all(name in ('sib1', 'si1', 'si2', 'paging') for name, *_ in dcis)
      assert all(level in (4, 8) and first + level <= 16 for _, level, first in dcis)  # common search space


def test_si_message_once_per_window():
  cell, layout, schedule = _plan(5, 9, 1, 340, 'idle')
  sent = [i for i, dcis in enumerate(schedule.dcis) for name, *_ in dcis if name == 'si1']
  n_abs = cell.sfn0 * 10 + np.array(sent)
  assert len(sent) in (2, 3) and np.all(np.diff(n_abs // 160) == 1)  # one per 160 ms period
  assert np.all(n_abs % 160 < cell.si_window_ms)  # inside the window at the start of the period
  assert all(layout.pdsch[i % 10] and not (i % 10 == 5 and (cell.sfn0 + i // 10) % 2 == 0) for i in sent)


@pytest.mark.parametrize('num_ports', [1, 2])
def test_idle_pdcch_and_pdsch_are_only_what_was_scheduled(num_ports):
  ncellid, n_rb = 44, 50  # 10 MHz: 8 CCEs in one control symbol (5 MHz has 3: no common-search PDCCH)
  source = lte.lte_source(10, ncellid=ncellid, seed=8, duration_s=0.04, load='idle', cfi=1, num_ports=num_ports)
  cell, _, schedule = _plan(10, ncellid, 8, 40, 'idle', cfi=1, num_ports=num_ports)
  assert cell.sfn0 == source.params['sfn0'] and source.params['cfi'] == 1
  # Activity, not grid != 0: the sum of 2 ports' independent QPSK symbols cancels on a quarter of the REs.
  grid = source.activity().reshape(40, 14, 600)  # bool
  fixed = lte.lte_grid(ncellid, n_rb, 40, cfi=1, num_ports=num_ports,
                       channels=('crs', 'pss', 'sss', 'pbch', 'pcfich', 'phich')).reshape(40, 14, 600) != 0
  pdcch_region = lte.lte_grid(ncellid, n_rb, 1, cfi=1, channels=('pdcch',)).reshape(14, 600)[0] != 0
  for i in range(40):
    cces = [c for _, level, first in schedule.dcis[i] for c in range(first, first + level)]
    expected = _pdcch_res(ncellid, n_rb, 1, cces, num_ports)[0]
    np.testing.assert_array_equal(grid[i, 0] & pdcch_region, expected, err_msg=f'subframe {i}')
    si_res = np.repeat(schedule.si_rbs[i], 12)
    for l in (1, 2, 3, 5, 6):  # no CRS with 1-2 ports, outside the control region: PSS/SSS/PBCH and SI only
      sync = (i % 5 == 0 and l in (5, 6)) & (np.abs(np.arange(600) - 299.5) < 36)  # PDSCH skips PSS/SSS's 72
      np.testing.assert_array_equal(grid[i, l], fixed[i, l] | (si_res & ~sync), err_msg=f'subframe {i} symbol {l}')
  assert not schedule.pdsch_rbs.any() and schedule.si_rbs.any()
  assert source.params['pdsch_share'] == pytest.approx(schedule.si_rbs.mean(), abs=1e-4)


def test_band_39_idle_look():
  """An idle TD-LTE cell with 2 ports: downlink energy in the CRS symbols 0, 4, 7, 11; symbols 1 and 8 far lower."""
  source = lte.lte_source(20, ncellid=1, seed=0, duration_s=0.04, num_ports=2, load='idle', **BAND_39)
  grid = source.grid().reshape(40, 14, 1200)
  downlink = np.array([kind == 'D' for kind in lte_tdd.subframe_types(2)])[np.arange(40) % 10]
  power = np.sum(np.abs(grid[downlink])**2, axis=2).mean(axis=0)
  assert set(np.argsort(power)[-4:]) == {0, 4, 7, 11}
  assert power[1] < power[4] / 20 and power[8] < power[7] / 20
  uplink = lte_tdd.downlink_symbols(2, 5)[np.arange(40) % 10]
  assert not grid[~uplink].any()  # nothing in uplink subframes, GP or UpPTS


def test_loads_are_ordered_by_occupancy():
  occupancy = {load: np.mean([lte.lte_source(10, ncellid=seed, seed=seed, duration_s=0.04, load=load)
                              .activity().mean() for seed in range(3)]) for load in lte_traffic.LOADS}
  values = [occupancy[load] for load in ('idle', 'light', 'medium', 'heavy')]
  assert values == sorted(values) and values[0] < 0.15 and values[3] > 0.6, occupancy


@pytest.mark.parametrize('load', ['light', 'medium', 'heavy'])
def test_traffic_schedule(load):
  cell, layout, schedule = _plan(10, 21, 5, 200, load)
  low, high = lte_traffic.PDSCH_SHARE[load]
  assert not (schedule.pdsch_rbs & schedule.si_rbs).any()
  shares = schedule.pdsch_rbs.mean(axis=1)
  busy = shares[shares > 0]
  assert np.all(busy <= high + 1e-9)
  assert np.mean(busy >= low - 0.02) > 0.9  # below the range only when the PDCCH ran out of CCEs
  if load == 'light':  # bursty: many empty subframes
    assert 0.3 < np.mean(shares == 0) < 0.85
  if load == 'heavy':
    assert np.all(shares > 0)
  dl = np.array([sum(name == 'dl' for name, *_ in dcis) for dcis in schedule.dcis])
  assert np.all((dl > 0) == (shares > 0)) and set(np.unique(dl)) - {0} <= set(range(1, 9))
  for i, dcis in enumerate(schedule.dcis):  # CCEs used = the DCIs' CCEs, without overlap
    used = np.zeros(schedule.pdcch_cces.shape[1], int)
    for _, level, first in dcis:
      assert first % level == 0
      used[first:first + level] += 1
    np.testing.assert_array_equal(used, schedule.pdcch_cces[i].astype(int))
  assert cell.crs_boost_db in lte_traffic.CRS_BOOST_DB and cell.cfi in (1, 2, 3)


def test_tdd_ul_grants_only_in_table_8_2_subframes():
  _, _, schedule = _plan(10, 2, 3, 100, 'heavy', duplex='tdd', ul_dl_config=1, special_subframe_config=7)
  ul_subframes = {i % 10 for i, dcis in enumerate(schedule.dcis) for name, *_ in dcis if name == 'ul'}
  assert ul_subframes == {1, 4, 6, 9}  # TS 36.213 Table 8-2, configuration 1
  nothing = [i for i, dcis in enumerate(schedule.dcis) if i % 10 in (2, 3, 7, 8)]
  assert all(not schedule.dcis[i] for i in nothing)


def test_params_and_prefix_stability():
  long = lte.lte_source(5, ncellid=17, seed=12, duration_s=0.03, load='medium', num_ports=2)
  short = lte.lte_source(5, ncellid=17, seed=12, duration_s=0.012, load='medium', num_ports=2)
  np.testing.assert_array_equal(short.grid(), long.grid()[:short.num_symbols])
  params = long.params
  assert params['load'] == 'medium' and params['num_ports'] == 2 and 0 <= params['sfn0'] < 1024
  assert params['crs_boost_db'] in lte_traffic.CRS_BOOST_DB and 0 < params['pdsch_share'] < 1
  explicit = lte.lte_source(5, ncellid=17, seed=12, duration_s=0.002, load='medium', cfi=3, crs_boost_db=0)
  assert explicit.params['cfi'] == 3 and explicit.params['crs_boost_db'] == 0
