"""Realistic NR loads of nr.nr_source (idle .. full): CORESET0 / Type0-PDCCH / SIB1, PDCCH on CCEs, PDSCH, TRS and
the SS/PBCH options, against TS 38.211 / 38.213 / 38.214 tables written out by hand."""

import json

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_pdcch
from specsense_jax.signals import nr_pdsch
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_receiver
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import nr_traffic
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

NEW_LOADS = ('idle', 'light', 'medium', 'heavy', 'full')
# An idle 20 MHz / 30 kHz cell sending blocks 0 and 1 of a case B burst (L = 8), CORESET0 index 2 and
# searchSpaceZero 5; seed 4 draws a 10 ms TRS, so the grid holds every kind of idle transmission.
IDLE = dict(bandwidth_mhz=20, scs_khz=30, ncellid=17, seed=4, duration_s=0.04, load='idle', ssb_case='B',
            ssb_bitmap='11000000', coreset0_index=2, search_space0_index=5)


def _ssb_active():
  """TS 38.211 Table 7.4.3.1-1: PSS (symbol 0) and SSS (2) on block subcarriers 56..182, PBCH and its DM-RS on
  all of symbols 1 and 3 and on 0..47 and 192..239 of symbol 2."""
  active = np.zeros((4, 240), bool)
  active[0, 56:183] = active[2, 56:183] = True
  active[1] = active[3] = True
  active[2, :48] = active[2, 192:] = True
  return active


def _c_init(n_id, slot, symbol):
  """PDCCH / PDSCH DM-RS c_init (TS 38.211 §7.4.1.3.1, §7.4.1.1.1 with n_SCID = 0, lambda = 0)."""
  return (2**17 * (14 * slot + symbol + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31


def _dmrs_sequence(n_id, slot_in_frame, symbol, length):
  return sequences.qpsk_from_bits(sequences.gold_sequence(_c_init(n_id, slot_in_frame, symbol), 2 * length))


@pytest.fixture(scope='module')
def idle():
  source = nr.nr_source(**IDLE)
  return source, source.grid()


def test_idle_cell_has_only_ssb_coreset0_sib1_and_trs(idle):
  source, grid = idle
  p = source.params
  active = grid != 0
  n_sc = 51 * 12
  assert active.shape == (1120, n_sc)
  # SS/PBCH: case B first symbols 4 and 8 of slot 0 (TS 38.213 §4.1), every 20 ms = 560 symbols; centred block
  # at RB (51 - 20) // 2 = 15.
  assert list(source.ssb_symbols) == [4, 8, 564, 568]
  ssb = np.zeros_like(active)
  for l0 in source.ssb_symbols:
    ssb[l0:l0 + 4, 180:420] = _ssb_active()
  # Table 13-4 index 2: 24 RBs, 2 symbols, offset 2 RBs below the SS/PBCH block's RB 15 -> RBs 13..36.
  assert (p['coreset0_rbs'], p['coreset0_symbols']) == ([13, 24], 2)
  # Table 13-11 index 5: O = 5, two sets a slot, M = 1/2, first symbol 0 (even i) or N_symb = 2 (odd i);
  # n0 = (O·2^mu + floor(i·M)) mod 20 = 10 for i = 0 and 1, in even frames: slots 10 and 50 of 80.
  occasion = np.zeros_like(active)
  for slot in (10, 50):
    occasion[14 * slot:14 * slot + 4, 12 * 13:12 * 37] = True
    assert sorted(d.first_symbol for d in source.rows.schedule.dcis[slot]) == [0, 2]
  # SIB1 (and any SI / paging) PDSCH: inside the CORESET0 bandwidth, in the occasion slots, after the CORESETs.
  sib = np.zeros_like(active)
  for slot in (10, 50):
    sib[14 * slot + 4:14 * slot + 14, 12 * 13:12 * 37] = True
  # TRS: 10 ms period, slots 13 and 14 of every 20, symbols l and l + 4, REs k0 + 12n + {0, 4, 8} on every RB.
  trs_config = p['trs']
  assert (trs_config['period_ms'], trs_config['slot_offset'], trs_config['slots_per_set']) == (10, 13, 2)
  trs = np.zeros_like(active)
  l, k0 = trs_config['first_symbol'], trs_config['k0']
  for slot in [s for s in range(80) if s % 20 in (13, 14)]:
    for symbol in (l, l + 4):
      trs[14 * slot + symbol, k0::4] = True  # k0, k0 + 4, k0 + 8 of each RB (4 divides 12)
  assert np.count_nonzero(trs[14 * 13 + l]) == 3 * 51  # density 3
  # Nothing else, and every part is there.
  assert not np.any(active & ~(ssb | occasion | sib | trs))
  np.testing.assert_array_equal(active & ssb, ssb)
  np.testing.assert_array_equal(active & trs, trs)
  for slot in (10, 50):
    assert active[14 * slot:14 * slot + 2].any() and active[14 * slot + 2:14 * slot + 4].any()
    first, count = p['sib1_rbs']
    assert 13 <= first and first + count <= 37
    # Two search space sets end at symbol 4 > l0 = 2: mapping type B, S = 4, L = 7, DM-RS on symbols 4 and 8
    # (dmrs-AdditionalPosition pos2, TS 38.211 Table 7.4.1.1.2-3), 2 CDM groups without data: odd REs empty.
    rbs = active[14 * slot:14 * slot + 14, 12 * first:12 * (first + count)]
    expected = np.zeros_like(rbs)
    expected[4:11] = True
    expected[[4, 8], 1::2] = False
    np.testing.assert_array_equal(rbs[4:], expected[4:])


def test_pdcch_res_are_the_reg_bundles_of_their_cces(idle):
  source, grid = idle
  mapping = nr_pdcch.coreset0_mapping(17)
  amplitude = 10 ** (source.params['power_db']['pdcch'] / 20)
  for slot in (10, 50):
    for dci in source.rows.schedule.dcis[slot]:
      level = len(dci.cces)
      assert level in (4, 8, 16)
      # A candidate of the Type0-PDCCH CSS (TS 38.213 Table 10.1-1) of the 8 CCEs of CORESET0 (24 RBs x 2).
      candidates = nr_pdcch.type0_css_candidates(8)[level]
      assert any(list(c) == list(dci.cces) for c in candidates)
      data, dmrs = nr_pdcch.pdcch_re_mask(51, 13, 24, 2, list(dci.cces), **mapping)
      rows = 14 * slot + dci.first_symbol + np.arange(2)
      np.testing.assert_array_equal(grid[rows] != 0, data | dmrs)  # exactly its REG bundles
      # DM-RS from CORESET0's lowest subcarrier (TS 38.211 §7.4.1.3.2): r(3n + k') on k = 12n + 4k' + 1.
      for j, symbol in enumerate(rows):
        k = np.flatnonzero(dmrs[j])
        r = _dmrs_sequence(17, slot % 20, symbol % 14, 3 * 24)
        n = k // 12 - 13
        np.testing.assert_allclose(grid[symbol, k], amplitude * r[3 * n + (k % 12 - 1) // 4], rtol=1e-5)


def test_sib1_dmrs_is_boosted_and_indexed_from_coreset0(idle):
  source, grid = idle
  first, count = source.params['sib1_rbs']
  slot, symbol = 10, 4
  k = 12 * first + np.arange(0, 12 * count, 2)
  r = _dmrs_sequence(17, slot, symbol, 12 * 24)
  # Two CDM groups without data: PDSCH-to-DM-RS EPRE -3 dB (TS 38.214 Table 4.1-1), sequence from CORESET0.
  np.testing.assert_allclose(grid[14 * slot + symbol, k], np.sqrt(2) * r[(k - 12 * 13) // 2], rtol=1e-5)
  np.testing.assert_allclose(np.abs(grid[14 * slot + 5, 12 * first:12 * (first + count)]), 1, rtol=1e-5)  # QPSK


def test_power_offsets_are_recorded_and_applied(idle):
  source, grid = idle
  power = json.loads(json.dumps(source.params))['power_db']  # params are JSON (datasets store them)
  assert 0 <= power['ssb'] <= 6 and 0 <= power['pdcch'] <= 3 and 0 <= power['trs'] <= 3
  assert power['trs'] == pytest.approx(power['ssb'] + source.params['trs']['power_offset_db'])
  pss = grid[4, 180 + 56:180 + 183]  # BPSK m-sequence
  np.testing.assert_allclose(np.abs(pss), 10 ** (power['ssb'] / 20), rtol=1e-5)
  trs = grid[14 * 13 + source.params['trs']['first_symbol']]
  np.testing.assert_allclose(np.abs(trs[trs != 0]), 10 ** (power['trs'] / 20), rtol=1e-4)


def test_loads_are_ordered_by_occupancy():
  shares, occupied = [], []
  for load in NEW_LOADS:
    source = nr.nr_source(20, 30, ncellid=5, seed=11, duration_s=0.04, load=load)
    occupied.append(source.activity().mean())
    shares.append(source.params['pdsch_rb_share'])
  assert np.all(np.diff(occupied) > 0) and np.all(np.diff(shares) > 0), (occupied, shares)
  assert occupied[0] < 0.05 and occupied[-1] > 0.97  # idle: a few %; full: every RE but the SSB RBs' gaps
  assert shares[-1] == 1 and shares[-2] > 0.6  # heavy: 70-100 % of the RBs in every slot, less what does not fit


@pytest.mark.parametrize('load', NEW_LOADS)
@pytest.mark.parametrize('pattern', ['DDDSU', 'DSUUU_6_4_4'])
def test_tdd_energy_only_in_downlink_symbols(load, pattern):
  source = nr.nr_source(10, 30, ncellid=3, seed=2, duration_s=0.02, load=load, duplex='tdd', tdd_pattern=pattern)
  downlink = nr_tdd.downlink_symbols(nr_tdd.resolve(pattern, 30), 30, 40).reshape(-1)
  active = source.activity()
  assert active.any(axis=1)[downlink].any() and not active[~downlink].any()
  assert all(downlink[l0:l0 + 4].all() for l0 in source.ssb_symbols)
  if load == 'heavy':  # values too, and PDSCH in the special slot (10 or 6 downlink symbols)
    assert not source.grid()[~downlink].any()
    special = 3 if pattern == 'DDDSU' else 1
    codes = source.rows.schedule.codes[14 * special:14 * special + 14]
    assert (codes == nr_traffic.PDSCH).any() and np.isin(codes, (nr_traffic.PDSCH_DMRS_1,
                                                                 nr_traffic.PDSCH_DMRS_2)).any()


@pytest.mark.parametrize('load', NEW_LOADS)
def test_every_pdsch_carries_its_dmrs(load):
  # Per slot and RB: data of a PDSCH kind implies its DM-RS (the blocks' RBs aside, blanked in their symbols).
  source = nr.nr_source(20, 30, ncellid=8, seed=1, duration_s=0.02, load=load, duplex='tdd',
                        tdd_pattern='DDDSUDDSUU')
  codes = source.rows.schedule.codes.reshape(40, 14, 51, 12)
  ssb_slots = sorted({l0 // 14 for l0 in source.ssb_symbols})
  k0 = source.ssb_subcarrier - 120
  kinds = {nr_traffic.PDSCH: (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2),
           nr_traffic.SI: (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2, nr_traffic.SIB1_DMRS_1,
                           nr_traffic.SIB1_DMRS_2)}
  for data, dmrs in kinds.items():
    has_data = (codes == data).any(axis=(1, 3))
    has_dmrs = np.isin(codes, dmrs).any(axis=(1, 3))
    has_data[ssb_slots, k0 // 12:-(-(k0 + 240) // 12)] = False
    assert not np.any(has_data & ~has_dmrs)
  # A PDSCH DM-RS never shares a symbol with the TRS (TS 38.214 §5.1.6.1.1 collisions avoided).
  trs_rows = (codes == nr_traffic.TRS).any(axis=(2, 3))
  assert not np.any(trs_rows & np.isin(codes, (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2)).any(axis=(2, 3)))


@pytest.mark.parametrize('load', NEW_LOADS)
def test_rendering_chosen_symbols_equals_whole_grid(load):
  source = nr.nr_source(10, 30, ncellid=77, seed=9, duration_s=0.02, load=load, duplex='tdd' if load in (
      'light', 'full') else 'fdd')
  grid = source.grid()
  chosen = np.sort(np.random.default_rng(0).choice(source.num_symbols, 60, replace=False))
  np.testing.assert_array_equal(source.rows(chosen), grid[chosen])
  np.testing.assert_array_equal(source.rows(chosen[::-1]), grid[chosen[::-1]])
  np.testing.assert_array_equal(source.activity(), grid != 0)


def test_longer_grid_starts_with_the_same_schedule():
  short = nr.nr_source(10, 30, ncellid=4, seed=6, duration_s=0.01, load='light')
  long = nr.nr_source(10, 30, ncellid=4, seed=6, duration_s=0.03, load='light')
  np.testing.assert_array_equal(long.rows(np.arange(short.num_symbols)), short.grid())
  assert short.params['trs'] == long.params['trs'] and short.params['coreset0_index'] == long.params['coreset0_index']


def test_light_traffic_is_bursty():
  source = nr.nr_source(10, 30, ncellid=4, seed=3, duration_s=0.2, load='light')
  busy = np.array([any(d.name == 'dl' for d in dcis) for dcis in source.rows.schedule.dcis])
  runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], busy.astype(int), [0]]))))[::2]
  assert 0.15 < busy.mean() < 0.55 and runs.mean() >= 2  # BURST: 35 % busy in 2 ms (4-slot) bursts


# Real cells (../shared/realdata README): n3 20 MHz at 1865 MHz, SS_REF 1857.65 MHz (GSCN 4643); n78 40 MHz at
# 3427.5 MHz, SS_REF 3413.28 MHz (GSCN 7786).
@pytest.mark.parametrize('band, fc, bandwidth, scs, gscn, fs, load', [
    ('n3', 1865e6, 20, 15, 4643, 23.04e6, 'light'), ('n78', 3427.5e6, 40, 30, 7786, 46.08e6, 'medium')])
def test_ssb_on_the_raster_is_found_at_its_offset(band, fc, bandwidth, scs, gscn, fs, load):
  n_rb = nr.n_rb_for(bandwidth, scs)
  placement = {p.gscn: p for p in nr_raster.ssb_placements(fc, n_rb, scs, band)}[gscn]
  wave = nr.nr_waveform(bandwidth, scs, ncellid=500, seed=1, sample_rate=fs, duration_s=0.005, load=load,
                        ssb_first_subcarrier=placement.first_subcarrier, ssb_case=placement.case,
                        duplex='tdd' if band == 'n78' else 'fdd')
  assert wave.ssb_offset_hz == pytest.approx(placement.offset_hz, abs=1e-3)
  p = wave.params
  assert (p['k_ssb'], p['offset_to_point_a'], p['ssb_first_subcarrier']) == (
      placement.k_ssb, placement.offset_to_point_a, placement.first_subcarrier)
  # CORESET0 offset counted from the common RB holding block subcarrier 0 (TS 38.213 §13): n3: RB 26 // 12 = 2,
  # so Table 13-1 rows with offsets 0 or 2 fit; n78: RB 42 // 12 = 3, Table 13-4 rows with offsets 0..3.
  offsets = {'n3': {0: 0, 1: 2, 3: 0, 4: 2}, 'n78': {0: 0, 1: 1, 2: 2, 3: 3, 5: 0, 6: 1, 7: 2, 8: 3}}[band]
  assert p['coreset0_index'] in offsets
  assert p['coreset0_rbs'] == [placement.first_subcarrier // 12 - offsets[p['coreset0_index']], 24]
  rx = channel.apply_channel(wave.iq, fs, seed=2, doppler_hz=20, snr_db=10)  # the searcher needs a noise floor
  found = nr_receiver.detect_nr_cell(rx, fs, scs, wave.ssb_offset_hz)
  assert found['ncellid'] == 500
  assert found['pss_start'] - ofdm.nr_numerology(scs, fs).cp_lengths[1] in wave.ssb_starts


def test_single_ssb_and_burst_periods():
  source = nr.nr_source(20, 30, ncellid=1, seed=0, duration_s=0.04, load='idle', ssb_case='C', ssb_num_blocks=8,
                        ssb_bitmap='single')
  sent = source.params['ssb_bitmap']
  assert len(sent) == 8 and sent.count('1') == 1
  first = nr.ssb_first_symbols('C', 8)[sent.index('1')]
  assert list(source.ssb_symbols) == [first, first + 560]  # one block a 20 ms burst
  for period, duration, expected in ((5, 0.02, [2, 72, 142, 212]), (80, 0.1, [2, 1122])):
    source = nr.nr_source(5, 15, ncellid=2, seed=1, duration_s=duration, load='idle', ssb_bitmap='1000',
                          ssb_period_ms=period)
    assert list(source.ssb_symbols) == expected  # case A block 0 at symbol 2, 14 symbols a ms
    assert source.params['ssb_period_ms'] == period
    sib1_slots = [s for s, dcis in enumerate(source.rows.schedule.dcis) if any(d.name == 'sib1' for d in dcis)]
    every = max(20, period)  # SIB1 repeats every 20 ms, or every burst when they are rarer (1 slot a ms)
    assert sib1_slots[0] < 20 and all(s % every < 20 for s in sib1_slots)


def test_matlab_load_is_the_default():
  default = nr.nr_source(10, 30, ncellid=3, seed=1, duration_s=0.01)
  explicit = nr.nr_source(10, 30, ncellid=3, seed=1, duration_s=0.01, load='matlab')
  assert explicit.grid().tobytes() == default.grid().tobytes() and explicit.params == default.params
  assert 'load' not in default.params and 'k_ssb' not in default.params


def test_waveform_call_of_the_brief():
  wave = nr.nr_waveform(20, 30, ncellid=1, seed=0, duplex='tdd', tdd_pattern='DDDSU', load='idle')
  assert wave.params['load'] == 'idle' and wave.params['tdd_slots'] == 'DDDSU' and len(wave.ssb_starts)


@pytest.mark.parametrize('kwargs, match', [
    (dict(load='busy'), r"load must be one of \('matlab', 'idle'"),
    (dict(ssb_period_ms=15), r'ssb_period_ms must be one of \(5, 10, 20, 40, 80, 160\)'),
    (dict(ssb_bitmap='101'), 'ssb_bitmap must have 4 or 8 bits'),
    (dict(ssb_bitmap=(1, 0, 2, 0)), 'ssb_bitmap must be'),
    (dict(ssb_bitmap='0000'), 'ssb_bitmap must send at least one block'),
    (dict(ssb_bitmap='1010', ssb_num_blocks=8), 'ssb_bitmap must have 8 bits'),
    (dict(ssb_num_blocks=6), r'ssb_num_blocks \(L\) must be 4 or 8'),
    (dict(ssb_first_subcarrier=-1), r'ssb_first_subcarrier must be an int in \[0, 48\]'),  # 24 RBs: 288 - 240
    (dict(ssb_first_subcarrier=49), r'ssb_first_subcarrier must be an int in \[0, 48\]'),
    (dict(ssb_first_subcarrier=12.0), 'ssb_first_subcarrier must be an int'),
    (dict(ssb_first_subcarrier=0, ssb_rb_offset=0), 'give ssb_rb_offset or ssb_first_subcarrier'),
    (dict(load='idle', coreset0_index=15), r'coreset0_index must be .* one of \('),
    (dict(load='idle', search_space0_index=16), 'search_space0_index must be an int in'),
    (dict(coreset0_index=0), "need a load other than 'matlab'"),
])
def test_bad_values_name_the_parameter(kwargs, match):
  with pytest.raises(ValueError, match=match):
    nr.nr_source(10, 30, ncellid=0, seed=0, duration_s=0.005, **kwargs)


def test_pdsch_dmrs_tables_by_hand():
  # TS 38.211 Table 7.4.1.1.2-3: type A l0 = 2, l_d = 14: pos1 -> 11, pos2 -> 7, 11; l_d = 10 (a special slot of
  # 10 downlink symbols): pos1 -> 9, pos2 -> 6, 9; type B L = 7: pos1 -> +4.
  assert nr_pdsch.dmrs_symbols('A', 0, 14, 1) == (2, 11) and nr_pdsch.dmrs_symbols('A', 1, 13, 2) == (2, 7, 11)
  assert nr_pdsch.dmrs_symbols('A', 2, 8, 2) == (2, 6, 9) and nr_pdsch.dmrs_symbols('A', 3, 7, 1, 3) == (3, 9)
  assert nr_pdsch.dmrs_symbols('B', 4, 7, 2) == (4, 8) and nr_pdsch.dmrs_symbols('B', 9, 4, 2) == (9,)
  for bad in (('A', 3, 11, 0, 2), ('A', 3, 1, 0, 3), ('B', 8, 7, 0, 2), ('B', 0, 5, 0, 2)):
    with pytest.raises(ValueError, match='mapping type'):
      nr_pdsch.dmrs_symbols(*bad)
  # A special slot of 10 downlink symbols with TRS on symbols 5 and 9: pos2 (6, 9) and pos1 (9) would put DM-RS
  # on a TRS symbol, so the PDSCH keeps only the front-loaded one; S = 1..2 after a 1-symbol CORESET.
  for seed in range(5):
    alloc = nr_pdsch.draw_allocation(np.random.default_rng(seed), 1, 10, type_a_position=2, additional_positions=(2,),
                                     avoid=(5, 9))
    assert alloc.mapping == 'A' and alloc.start in (1, 2) and alloc.start + alloc.length == 10
    assert alloc.dmrs_symbols == (2,)
  alloc = nr_pdsch.draw_allocation(np.random.default_rng(0), 4, 14, type_a_position=2, earliest=True,
                                   additional_positions=(2,), cdm_groups=(2,))
  assert (alloc.mapping, alloc.start, alloc.length, alloc.dmrs_symbols, alloc.cdm_groups) == ('B', 4, 7, (4, 8), 2)
  # TS 38.214 Table 5.1.2.2.1-1 configuration 1; Table 4.1-1.
  assert [nr_pdsch.rbg_size(n) for n in (24, 36, 37, 72, 73, 144, 145, 273)] == [2, 2, 4, 4, 8, 8, 16, 16]
  assert nr_pdsch.dmrs_amplitude(1) == 1 and nr_pdsch.dmrs_amplitude(2) ** 2 == pytest.approx(10 ** (3 / 10), rel=3e-3)


@pytest.mark.slow
@pytest.mark.parametrize('scs, bandwidth', [(15, 5), (15, 20), (15, 50), (30, 10), (30, 40), (30, 100)])
def test_invariants_over_many_cells(scs, bandwidth):
  # Every load, FDD and two TDD patterns, every SS/PBCH period and burst kind: values only where the activity
  # map says, nothing outside downlink symbols, a DM-RS with every PDSCH, no DM-RS on TRS symbols, JSON params.
  n_rb = nr.n_rb_for(bandwidth, scs)
  for j, (load, (duplex, pattern)) in enumerate(
      (l, d) for l in NEW_LOADS for d in (('fdd', 'DDDSU'), ('tdd', 'DDDSU'), ('tdd', 'DDDSUDDSUU_6_4_4'))):
    source = nr.nr_source(bandwidth, scs, ncellid=(97 * j + bandwidth) % 1008, seed=j, duration_s=0.01, load=load,
                          duplex=duplex, tdd_pattern=pattern, ssb_period_ms=nr.SSB_PERIODS_MS[j % 6],
                          ssb_bitmap=(None, 'single')[j % 2], ssb_case='C' if scs == 30 and duplex == 'tdd' else None)
    json.dumps(source.params)
    grid = source.grid()
    np.testing.assert_array_equal(source.activity(), grid != 0)
    slots = source.num_symbols // 14
    if duplex == 'tdd':
      downlink = nr_tdd.downlink_symbols(nr_tdd.resolve(pattern, scs), scs, slots).reshape(-1)
      assert not grid[~downlink].any()
    codes = source.rows.schedule.codes.reshape(slots, 14, n_rb, 12)
    k0 = source.ssb_subcarrier - 120
    ssb_slots = sorted({l0 // 14 for l0 in source.ssb_symbols})
    for data, dmrs in ((nr_traffic.PDSCH, (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2)),
                       (nr_traffic.SI, (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2, nr_traffic.SIB1_DMRS_1,
                                        nr_traffic.SIB1_DMRS_2))):
      has_data = (codes == data).any(axis=(1, 3))
      has_data[ssb_slots, k0 // 12:-(-(k0 + 240) // 12)] = False
      assert not np.any(has_data & ~np.isin(codes, dmrs).any(axis=(1, 3)))
    dmrs_rows = np.isin(codes, (nr_traffic.PDSCH_DMRS_1, nr_traffic.PDSCH_DMRS_2, nr_traffic.SIB1_DMRS_1,
                                nr_traffic.SIB1_DMRS_2)).any(axis=(2, 3))
    assert not np.any(dmrs_rows & (codes == nr_traffic.TRS).any(axis=(2, 3)))


@pytest.mark.parametrize('n_cce', (3, 8, 16, 24, 45))
def test_uss_candidates_are_the_search_space_of_ts_38_213(n_cce):
  # The scheduler's cached hashing gives the candidates of nr_pdcch.search_space_candidates (TS 38.213 §10.1).
  for slot, rnti in ((0, 1), (7, 0x4601), (19, 0xFFF0)):
    of = nr_traffic._uss_candidates(n_cce, slot, rnti)
    for level, m in nr_traffic.UE_CANDIDATES.items():
      expected = nr_pdcch.search_space_candidates(n_cce, level, m, slot=slot, n_rnti=rnti,
                                                  coreset_id=nr_traffic.UE_CORESET_ID)
      candidates = of(level)  # [(bit mask over the CCEs, CCEs)]
      np.testing.assert_array_equal(np.array([cces for _, cces in candidates], int).reshape(-1, level), expected)
      assert [mask for mask, _ in candidates] == [sum(1 << int(c) for c in row) for row in expected]
