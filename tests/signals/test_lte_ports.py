"""LTE multi-port cell-specific RS and transmit diversity (TS 36.211 §6.10.1, §6.3.4.3, §6.9.2), per-port grids."""

import numpy as np
import pytest

from specsense_jax.signals import lte
from specsense_jax.signals import lte_control
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

CELLS = [(0, 6), (101, 25), (257, 15), (503, 50)]  # (N_ID^cell, N_RB)


def _port_grids(ncellid, n_rb, num_subframes, num_ports, **kwargs):
  builders = lte.lte_port_rows(ncellid, n_rb, num_subframes, 5, num_ports=num_ports, **kwargs)
  return np.stack([rows(np.arange(14 * num_subframes)) for rows in builders])


def _crs_by_hand(ncellid, n_rb, port, ns, l):
  """TS 36.211 §6.10.1.1-6.10.1.2 written out: r(m') at k = 6m + (v + N_ID mod 6) mod 6, m' = m + 110 - N_RB."""
  c_init = 2**10 * (7 * (ns + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + 1
  c = sequences.gold_sequence(c_init, 4 * 110).astype(int)
  v = {(0, 0): 0, (0, 4): 3, (1, 0): 3, (1, 4): 0}.get((port, l))
  if port == 2:
    v = 3 * (ns % 2)
  elif port == 3:
    v = 3 + 3 * (ns % 2)
  m = np.arange(2 * n_rb)
  mp = m + 110 - n_rb
  return 6 * m + (v + ncellid % 6) % 6, ((1 - 2 * c[2 * mp]) + 1j * (1 - 2 * c[2 * mp + 1])) / np.sqrt(2)


@pytest.mark.parametrize('ncellid, n_rb', CELLS)
def test_crs_of_every_port_from_the_formulas(ncellid, n_rb):
  grids = _port_grids(ncellid, n_rb, 10, 4, channels=('crs',)).reshape(4, 10, 14, 12 * n_rb)
  for port, symbols in ((0, (0, 4)), (1, (0, 4)), (2, (1,)), (3, (1,))):
    expected = np.zeros((10, 14, 12 * n_rb), complex)
    for ns in range(20):
      for l in symbols:
        k, r = _crs_by_hand(ncellid, n_rb, port, ns, l)
        expected[ns // 2, 7 * (ns % 2) + l, k] = r
    np.testing.assert_allclose(grids[port], expected, atol=1e-6, err_msg=f'port {port}')


def test_crs_positions_by_hand():
  # N_ID 7: v_shift 1. Slot 0: port 2 at k = 1, 7, ... in symbol 1, port 3 at k = 4, 10; slot 1 the other way round.
  grids = _port_grids(7, 6, 1, 4, channels=('crs',))
  assert np.flatnonzero(grids[2, 1])[:3].tolist() == [1, 7, 13]
  assert np.flatnonzero(grids[3, 1])[:3].tolist() == [4, 10, 16]
  assert np.flatnonzero(grids[2, 8])[:3].tolist() == [4, 10, 16]
  assert np.flatnonzero(grids[3, 8])[:3].tolist() == [1, 7, 13]
  assert np.flatnonzero(grids[1, 0])[:2].tolist() == [4, 10] and np.flatnonzero(grids[1, 4])[:2].tolist() == [1, 7]
  np.testing.assert_array_equal(lte.crs_port0(7, 6, 3, 4)[0], lte.crs(7, 6, 0, 3, 4)[0])


@pytest.mark.parametrize('num_ports', [2, 4])
def test_rs_res_of_a_port_are_empty_on_the_others(num_ports):
  grids = _port_grids(29, 15, 10, num_ports, pdsch_rbs=np.ones((10, 15), bool), modulation='16qam')
  rs = _port_grids(29, 15, 10, num_ports, channels=('crs',)) != 0
  for port in range(num_ports):
    others = np.delete(grids, port, axis=0)
    assert not np.any(others[:, rs[port]]), port
    assert np.all(grids[port][rs[port]] != 0)
  # Outside symbol 0 and the PBCH (their REs of 4 ports carry one pair of ports each, SFBC-FSTD) the other REs
  # are used by every port or none, PSS/SSS being on port 0 only.
  pbch = _port_grids(29, 15, 10, 1, channels=('pbch',))[0] != 0
  data = ((grids != 0) & ~rs.any(axis=0) & ~pbch).reshape(num_ports, 10, 14, 180)[:, :, 1:]
  pss_sss = (_port_grids(29, 15, 10, 1, channels=('pss', 'sss'))[0] != 0).reshape(10, 14, 180)[:, 1:]
  np.testing.assert_array_equal(data[0] & ~pss_sss, data[-1])
  assert data[-1].sum() > 0.5 * data[-1].size


@pytest.mark.parametrize('num_ports', [1, 2, 4])
def test_symbol_1_of_every_downlink_slot_carries_rs_only_with_4_ports(num_ports):
  source = lte.lte_source(5, ncellid=12, seed=1, duration_s=0.01, duplex='tdd', ul_dl_config=1,
                          special_subframe_config=7, num_ports=num_ports, load='idle', cfi=1)
  crs = _port_grids(12, 25, 10, num_ports, channels=('crs',), duplex='tdd', ul_dl_config=1,
                    special_subframe_config=7).sum(axis=0).reshape(10, 14, 300)
  downlink = lte_tdd.downlink_symbols(1, 7)
  for l in (1, 8):
    has_rs = np.count_nonzero(crs[:, l], axis=1) == (100 if num_ports == 4 else 0)  # 2 per RB and port
    np.testing.assert_array_equal(has_rs, downlink[:, l] if num_ports == 4 else np.ones(10, bool))
  grid = source.grid().reshape(10, 14, 300)
  assert np.all(grid[~downlink] == 0)


@pytest.mark.parametrize('num_ports', [2, 4])
def test_pcfich_transmit_diversity_by_hand(num_ports):
  ncellid, n_rb = 38, 25
  grids = _port_grids(ncellid, n_rb, 1, num_ports, channels=('pcfich',), cfi=3)
  k = (lte.pcfich_reg_starts(ncellid, n_rb)[:, None] + np.array([o for o in range(6) if (o - 2) % 3])).reshape(-1)
  d = lte.pcfich_symbols(ncellid, 0, 3) / np.sqrt(2)
  y = grids[:, 0, k]
  if num_ports == 2:  # y0(2i) = x0, y1(2i) = -x1*, y0(2i+1) = x1, y1(2i+1) = x0*, x_k(i) = d(2i + k)
    np.testing.assert_allclose(y[0], d, atol=1e-6)
    np.testing.assert_allclose(y[1, 0::2], -np.conj(d[1::2]), atol=1e-6)
    np.testing.assert_allclose(y[1, 1::2], np.conj(d[0::2]), atol=1e-6)
  else:  # SFBC with FSTD: ports 0/2 on REs 4i, 4i+1 and ports 1/3 on 4i+2, 4i+3
    np.testing.assert_allclose(y[0, 0::4], d[0::4], atol=1e-6)
    np.testing.assert_allclose(y[2, 1::4], np.conj(d[0::4]), atol=1e-6)
    np.testing.assert_allclose(y[1, 3::4], d[3::4], atol=1e-6)
    np.testing.assert_allclose(y[3, 2::4], -np.conj(d[3::4]), atol=1e-6)
    assert not y[[0, 2]][:, 2::4].any() and not y[[1, 3]][:, 0::4].any()
  np.testing.assert_allclose(np.sum(np.abs(y)**2, axis=0), 1, atol=1e-6)  # the RE power is split, not added


def test_phich_4_ports_alternates_port_pairs_with_the_group():
  # TS 36.211 §6.9.2: quadruplet i of group g on ports 0/2 first when i + g is even, on ports 1/3 first when odd.
  d = np.arange(1, 13) * (1 + 0.5j)
  y = lte_control.phich_precode(np.stack([d, d]), 4, np.arange(2))
  for group in (0, 1):
    for i in range(3):
      first_pair = (0, 2) if (i + group) % 2 == 0 else (1, 3)
      quad = y[:, group, 4 * i:4 * i + 4]
      assert quad[first_pair[0], 0] == pytest.approx(d[4 * i] / np.sqrt(2))
      assert quad[first_pair[1], 1] == pytest.approx(np.conj(d[4 * i]) / np.sqrt(2))
      assert not quad[list(first_pair), 2:].any()


@pytest.mark.parametrize('load, num_ports', [('full', 2), ('heavy', 4), ('idle', 2)])
def test_ports_sum_to_rows_and_render_like_the_whole_grid(load, num_ports):
  source = lte.lte_source(3, ncellid=77, seed=4, duration_s=0.005, load=load, num_ports=num_ports)
  assert len(source.port_rows) == num_ports
  symbols = np.arange(source.num_symbols)
  ports = np.stack([rows(symbols) for rows in source.port_rows])
  np.testing.assert_array_equal(ports.sum(axis=0), source.grid())
  activity = np.stack([rows(symbols, values=False) for rows in source.port_rows])
  np.testing.assert_array_equal(activity, ports != 0)
  np.testing.assert_array_equal(source.activity(), activity.any(axis=0))
  chosen = np.array([3, 17, 18, 40, 69])  # rows built on their own equal the same rows of the whole grid
  for port, rows in enumerate(source.port_rows):
    np.testing.assert_array_equal(rows(chosen), ports[port, chosen])
  fs, n = 3.84e6, int(0.005 * 3.84e6)
  indices = np.sort(np.random.default_rng(0).choice(n, 3000, replace=False))
  np.testing.assert_array_equal(source.render(fs, n, indices), source.waveform(fs, n).iq[indices])
  numerology = ofdm.lte_numerology(fs)
  port_iq = ofdm.modulate(ports[1], numerology)
  np.testing.assert_allclose(ofdm.render_at(source.port_rows[1], numerology, source.num_symbols, indices),
                             port_iq[indices], atol=1e-6)


@pytest.mark.parametrize('num_ports', [2, 4])
def test_data_power_is_split_over_the_ports(num_ports):
  grids = _port_grids(5, 50, 2, num_ports, pdsch_rbs=np.ones((2, 50), bool))
  pdsch = _port_grids(5, 50, 2, num_ports, pdsch_rbs=np.ones((2, 50), bool), channels=('pdsch',)) != 0
  assert all(np.array_equal(pdsch[0], pdsch[p]) for p in range(num_ports))  # the same REs on every port
  for port in range(num_ports):
    assert np.mean(np.abs(grids[port][pdsch[0]])**2) == pytest.approx(1 / num_ports, rel=0.02)
  assert np.mean(np.abs(grids[0][pdsch[0]] - grids[1][pdsch[0]])) > 0.5  # each port its own symbols


def test_crs_boost_scales_every_port():
  boosted = lte.lte_source(5, ncellid=3, seed=2, duration_s=0.002, load='full', num_ports=2, crs_boost_db=4.77)
  plain = lte.lte_source(5, ncellid=3, seed=2, duration_s=0.002, load='full', num_ports=2)
  rs = _port_grids(3, 25, 2, 2, channels=('crs',)) != 0
  for port in range(2):
    b = boosted.port_rows[port](np.arange(28))
    p = plain.port_rows[port](np.arange(28))
    np.testing.assert_allclose(np.abs(b[rs[port]]), 10**(4.77 / 20), rtol=1e-5)
    np.testing.assert_array_equal(b[~rs[port]], p[~rs[port]])
  assert boosted.params['crs_boost_db'] == 4.77 and 'crs_boost_db' not in plain.params
  assert plain.params['num_ports'] == 2


def test_issue_signature_and_single_port_sources_have_no_port_rows():
  wave = lte.lte_waveform(10, ncellid=1, seed=0, duplex='tdd', ul_dl_config=2, special_subframe_config=5,
                          num_ports=4, load='idle')
  assert wave.params['num_ports'] == 4 and wave.params['load'] == 'idle' and len(wave.iq) == int(0.04 * 61.44e6)
  assert lte.lte_source(1.4, ncellid=0, seed=0, duration_s=0.001, load='idle').port_rows == ()
  assert 'num_ports' not in lte.lte_source(1.4, ncellid=0, seed=0, duration_s=0.001, num_ports=1).params


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_ports=3), r'num_ports must be one of \(1, 2, 4\)'),
    (dict(num_ports=True), 'num_ports'),
    (dict(load='busy'), r"load must be one of \('full', 'thinned', 'sparse', 'off', 'idle', 'light'"),
    (dict(crs_boost_db=-1), r'crs_boost_db must be a number in \[0, 6\]'),
    (dict(crs_boost_db='high', load='idle'), 'crs_boost_db'),
    (dict(cfi=4, load='idle'), 'cfi must be 1, 2 or 3'),
])
def test_bad_values_name_the_parameter(kwargs, match):
  with pytest.raises(ValueError, match=match):
    lte.lte_waveform(1.4, ncellid=0, seed=0, sample_rate=1.92e6, duration_s=0.001, **kwargs)
