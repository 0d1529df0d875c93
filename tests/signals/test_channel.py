"""Channels against TR 38.901 / TS 36.101 tables, Jakes statistics, measured SNR, offsets."""

import re

import numpy as np
import pytest
import scipy.special

from specsense_jax.signals import channel


def _parse_tdl_tables(text):
  tables = {}
  for name, body in re.findall(r'## TDL-([A-E])\s.*?\n((?:\|.*\n)+)', text):
    rows = [line.split('|')[2:4] for line in body.strip().splitlines()[2:]]
    tables[name] = [(float(d), float(p)) for d, p in rows]
  return tables


def test_tdl_tables_equal_tr38901(shared_dir):
  tables = _parse_tdl_tables((shared_dir / 'reference/tdl_tables.md').read_text())
  assert sorted(tables) == ['A', 'B', 'C', 'D', 'E']
  for name, rows in tables.items():
    profile = channel.TDL_PROFILES[name]
    np.testing.assert_allclose(profile.delays, [d for d, _ in rows], err_msg=name)
    np.testing.assert_allclose(profile.powers_db, [p for _, p in rows], err_msg=name)


def test_tdl_tables_in_repo_spot_checks():
  # TR 38.901 Table 7.7.2-1 (TDL-A) taps 1-3 and 23; Table 7.7.2-4 (TDL-D) K-factor 13.3 dB.
  a = channel.TDL_PROFILES['A']
  assert a.delays[:3] == (0.0, 0.3819, 0.4025) and a.powers_db[:3] == (-13.4, 0.0, -2.2)
  assert (a.delays[-1], a.powers_db[-1]) == (9.6586, -29.7)
  d = channel.TDL_PROFILES['D']
  assert d.los and d.powers_db[0] - d.powers_db[1] == pytest.approx(13.3)
  assert [len(p.delays) for p in channel.TDL_PROFILES.values()] == [23, 23, 24, 14, 15]
  assert channel.LTE_PROFILES['eva'].delays[-1] == pytest.approx(2510e-9)


def test_tdl_impulse_response_has_table_delays_and_powers():
  """Average tap powers of a static TDL-B channel over many realizations equal the normalized table."""
  fs, ds = 61.44e6, 300e-9
  impulse = np.zeros(400, np.complex64)
  impulse[0] = 1
  profile = channel.TDL_PROFILES['B']
  delays = np.round(np.asarray(profile.delays) * ds * fs).astype(int)
  expected = np.zeros(delays.max() + 1)
  np.add.at(expected, delays, 10 ** (np.asarray(profile.powers_db) / 10))
  expected /= expected.sum()
  power = np.zeros(400)
  for seed in range(400):
    h = channel.apply_channel(impulse, fs, seed=seed, model='tdl', tdl_profile='B', delay_spread_s=ds)
    power += np.abs(h) ** 2 / 400
  np.testing.assert_allclose(power[:len(expected)], expected, atol=0.03)
  assert power[len(expected):].max() < 1e-10


def test_fading_autocorrelation_follows_j0():
  fs, fd = 1e6, 200.0
  gains = channel.rayleigh_gains(np.random.default_rng(0), 2000, 10000, fs, fd)
  assert np.mean(np.abs(gains) ** 2) == pytest.approx(1.0, abs=0.05)
  for lag in (0, 500, 1000, 2000, 4000):
    measured = np.mean(gains[:, lag:] * np.conj(gains[:, :gains.shape[1] - lag])).real
    assert measured == pytest.approx(scipy.special.j0(2 * np.pi * fd * lag / fs), abs=0.05), lag


def test_rayleigh_envelope_distribution():
  g = channel.rayleigh_gains(np.random.default_rng(1), 20000, 1, 1e6, 0.0)[:, 0]
  # P(|g|^2 < x) = 1 - exp(-x) for unit-power Rayleigh fading.
  for x in (0.1, 0.5, 1.0, 2.0):
    assert np.mean(np.abs(g) ** 2 < x) == pytest.approx(1 - np.exp(-x), abs=0.02)


@pytest.mark.parametrize('snr', [0.0, 13.7, 40.0])
def test_measured_snr_within_0_1_db(snr):
  rng = np.random.default_rng(3)
  signal = (rng.standard_normal(2_000_000) * 0.3).astype(np.complex64)
  noisy = channel.add_awgn(signal, snr, rng)
  measured = 10 * np.log10(np.mean(np.abs(signal) ** 2) / np.mean(np.abs(noisy - signal) ** 2))
  assert measured == pytest.approx(snr, abs=0.1)


def test_frequency_shift_moves_tone_and_time_shift_rolls():
  fs, n = 1.024e6, 1024
  tone = np.ones(n, np.complex64)
  shifted = channel.frequency_shift(tone, 3 * fs / n, fs)
  assert np.argmax(np.abs(np.fft.fft(shifted))) == 3
  x = np.arange(10).astype(np.complex64)
  np.testing.assert_array_equal(channel.apply_channel(x, 1e3, seed=0, model='none', time_shift_samples=3),
                                np.roll(x, 3))


def test_channel_is_deterministic_per_seed():
  x = np.ones(5000, np.complex64)
  a = channel.apply_channel(x, 1e6, seed=4, doppler_hz=100, snr_db=10)
  np.testing.assert_array_equal(a, channel.apply_channel(x, 1e6, seed=4, doppler_hz=100, snr_db=10))
  assert not np.array_equal(a, channel.apply_channel(x, 1e6, seed=5, doppler_hz=100, snr_db=10))


def test_bad_channel_parameters():
  x = np.ones(100, np.complex64)
  with pytest.raises(ValueError, match=r"model must be one of .*'tdl'"):
    channel.apply_channel(x, 1e6, seed=0, model='rician')
  with pytest.raises(ValueError, match='doppler_hz'):
    channel.apply_channel(x, 1e6, seed=0, doppler_hz=-5)
  with pytest.raises(ValueError, match='tdl_profile'):
    channel.apply_channel(x, 1e6, seed=0, model='tdl', tdl_profile='F')
  with pytest.raises(ValueError, match='delay_spread_s'):
    channel.apply_channel(x, 1e6, seed=0, model='tdl', delay_spread_s=0)
  with pytest.raises(ValueError, match='snr_db'):
    channel.apply_channel(x, 1e6, seed=0, snr_db=float('nan'))
  with pytest.raises(ValueError, match='sample_rate'):
    channel.apply_channel(x, 0, seed=0)
