"""OFDM numerology (TS 38.211 §5.3.1, TS 36.211 §6.12) and modulation."""

import numpy as np
import pytest

from specsense_jax.signals import ofdm


@pytest.mark.parametrize('scs,fs,fft,short,long', [
    (15, 61.44e6, 4096, 288, 320), (30, 61.44e6, 2048, 144, 176), (15, 30.72e6, 2048, 144, 160),
    (30, 30.72e6, 1024, 72, 88), (15, 19.2e6, 1280, 90, 100)])
def test_nr_cp_lengths_follow_ts38211(scs, fs, fft, short, long):
  num = ofdm.nr_numerology(scs, fs)
  mu = {15: 0, 30: 1}[scs]
  assert num.fft_size == fft
  expected = [long if l in (0, 7 * 2**mu) else short for l in range(14 * 2**mu)]
  assert list(num.cp_lengths) == expected
  assert num.samples_per_subframe == int(fs / 1e3)  # 1 ms


def test_lte_numerology_at_30_72_and_61_44():
  assert ofdm.lte_numerology(30.72e6).cp_lengths == (160,) + (144,) * 6 + (160,) + (144,) * 6
  num = ofdm.lte_numerology(61.44e6)
  assert num.fft_size == 4096 and num.cp_lengths[:2] == (320, 288) and num.skip_dc


def test_incompatible_rate_is_rejected_with_hint():
  with pytest.raises(ValueError, match='1.92 MHz'):
    ofdm.nr_numerology(30, 25e6)


def test_modulate_demodulate_round_trip_and_unit_power():
  rng = np.random.default_rng(0)
  for num in (ofdm.nr_numerology(30, 61.44e6), ofdm.lte_numerology(61.44e6)):
    grid = ((rng.standard_normal((28, 600)) + 1j * rng.standard_normal((28, 600))) / np.sqrt(2)).astype(
        np.complex64)
    iq = ofdm.modulate(grid, num)
    assert len(iq) == num.symbol_starts(28)[-1] + num.cp_of(28)[-1] + num.fft_size
    np.testing.assert_allclose(ofdm.demodulate(iq, num, 600, 28), grid, atol=1e-4)
    assert np.mean(np.abs(iq) ** 2) == pytest.approx(1.0, rel=0.05)


def test_cyclic_prefix_repeats_symbol_tail():
  num = ofdm.nr_numerology(15, 30.72e6)
  grid = np.ones((2, 120), np.complex64)
  iq = ofdm.modulate(grid, num)
  cp0, n = num.cp_lengths[0], num.fft_size
  np.testing.assert_allclose(iq[:cp0], iq[n:n + cp0], atol=1e-6)


def test_lte_dc_unused_nr_dc_used():
  lte_bins = ofdm.subcarrier_bins(600, ofdm.lte_numerology(15.36e6))
  assert 0 not in lte_bins and len(set(lte_bins)) == 600
  assert ofdm.subcarrier_frequency(299, 600, ofdm.lte_numerology(15.36e6)) == -15e3
  assert ofdm.subcarrier_frequency(300, 600, ofdm.lte_numerology(15.36e6)) == 15e3
  nr_num = ofdm.nr_numerology(30, 61.44e6)
  assert ofdm.subcarrier_frequency(306, 612, nr_num) == 0.0
