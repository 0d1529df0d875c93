"""`GridSource.symbol_power`: the expected power per OFDM symbol from the generators' tables equals the power of
the grid they build (exactly for constant-modulus REs, on average for QAM above QPSK)."""

from __future__ import annotations

import numpy as np
import pytest

from specsense_jax.signals import lte
from specsense_jax.signals import nr
from specsense_jax.signals import nr_traffic
from specsense_jax.signals import scene
from specsense_jax.signals import SceneConfig

LTE_LOADS = ('idle', 'light', 'medium', 'heavy', 'full', 'thinned')


def _grid_power(rows, num_symbols: int) -> np.ndarray:
  grid = rows(np.arange(num_symbols))
  return np.sum(np.abs(grid.astype(np.complex128)) ** 2, axis=1) / grid.shape[1]


@pytest.mark.parametrize('load', LTE_LOADS)
@pytest.mark.parametrize('duplex', ('fdd', 'tdd'))
@pytest.mark.parametrize('num_ports', (1, 2, 4))
def test_lte_symbol_power_is_the_grid_power(load, duplex, num_ports):
  # QPSK data: every RE is constant-modulus (CRS boosted, 1/num_ports data split, PHICH precoded), so exact per row.
  source = lte.lte_source(5, ncellid=101, seed=7, duration_s=0.01, load=load, duplex=duplex, num_ports=num_ports,
                          modulation='qpsk')
  for rows in source.port_rows or (source.rows,):
    np.testing.assert_allclose(rows.symbol_power(), _grid_power(rows, source.num_symbols), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(source.symbol_power(), _grid_power(source.rows, source.num_symbols) if num_ports == 1
                             else sum(_grid_power(r, source.num_symbols) for r in source.port_rows), rtol=1e-5,
                             atol=1e-7)


@pytest.mark.parametrize('num_ports', (1, 4))
def test_lte_symbol_power_with_64qam_matches_on_average(num_ports):
  source = lte.lte_source(10, ncellid=3, seed=1, duration_s=0.01, load='heavy', num_ports=num_ports,
                          modulation='64qam', crs_boost_db=3.0)
  for rows in source.port_rows or (source.rows,):
    expected, measured = rows.symbol_power(), _grid_power(rows, source.num_symbols)
    assert abs(expected.mean() / measured.mean() - 1) < 0.02


@pytest.mark.parametrize('load', nr_traffic.LOADS)
@pytest.mark.parametrize('duplex', ('fdd', 'tdd'))
def test_nr_symbol_power_is_the_grid_power(load, duplex):
  # QPSK UE PDSCH: PDCCH and SS/PBCH offsets, DM-RS per TS 38.214 Table 4.1-1 and the TRS are constant-modulus.
  source = nr.nr_source(20, 30, ncellid=211, seed=5, duration_s=0.01, load=load, duplex=duplex, modulation='qpsk')
  np.testing.assert_allclose(source.symbol_power(), _grid_power(source.rows, source.num_symbols), rtol=1e-5,
                             atol=1e-7)


@pytest.mark.parametrize('modulation', ('16qam', '256qam'))
def test_nr_symbol_power_with_qam_matches_on_average(modulation):
  source = nr.nr_source(20, 30, ncellid=9, seed=2, duration_s=0.01, load='full', modulation=modulation)
  expected, measured = source.symbol_power(), _grid_power(source.rows, source.num_symbols)
  assert abs(expected.mean() / measured.mean() - 1) < 0.02


def test_matlab_loads_have_no_symbol_power():
  # The parity frames count active REs; nothing about them changes.
  assert nr.nr_source(20, 30, ncellid=1, seed=0).symbol_power is None


def test_expected_power_from_symbol_power_matches_the_grid_fallback():
  frame = scene.compose_frame(4, SceneConfig.realistic(scenes=('lte',)))
  for t in frame.transmissions:
    assert t.exact_power and t.source.symbol_power is not None
    fast = t.expected_power(frame.sample_rate, frame.num_samples)
    slow = scene._Transmission(t.source.__class__(**{**vars(t.source), 'symbol_power': None}), t.activity,
                               t.numerology, t.fading, t.shift, t.centre_hz,
                               exact_power=True).expected_power(frame.sample_rate, frame.num_samples)
    assert abs(fast / slow - 1) < 0.02
