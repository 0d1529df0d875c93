"""LTE downlink against TS 36.211 and the MATLAB-made reference vectors."""

import hashlib

import numpy as np
import pytest
import scipy.signal

from specsense_jax.signals import lte
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

GRID_SCALE = 21213 * np.sqrt(2)


def _template(subframe):
  # The reference template: CRS, PSS, SSS, PCFICH (CFI 3) and PHICH group 1 with one PHICH (sequence 0,
  # HI = 1), no data channels.
  return lte.lte_grid(11, 50, 1, first_subframe=subframe, cfi=3,
                      phich={1: [(0, 1)]}, channels=('crs', 'pss', 'sss', 'pcfich', 'phich'))


def test_crs_grid_matches_reference(refvectors):
  ref = refvectors.load_ground('test_cellRS.outfile.ground').reshape(14, 600)
  grid = lte.lte_grid(11, 50, 1, channels=('crs',))
  np.testing.assert_allclose(refvectors.quantize(grid, GRID_SCALE), ref, atol=1.5)


def test_whole_subframe_grids_match_reference(refvectors):
  ref = refvectors.load_ground('test_genTemplateSubframe.outfile.ground')
  for grid_ref, subframe in zip(ref.reshape(4, 14, 600), (0, 2, 5, 9)):
    np.testing.assert_allclose(refvectors.quantize(_template(subframe), GRID_SCALE), grid_ref, atol=1.5,
                               err_msg=f'subframe {subframe}')


def test_foreign_lte_frame_carries_our_reference_and_sync_signals(refvectors):
  """A 30 ms, 10 MHz LTE frame from another generator, demodulated with our OFDM: CRS, PSS and SSS on every
  RE equal ours up to one complex scale."""
  iq = np.load(refvectors.dir / 'genFrame1024_lte10MHz_15.36Msps_pci11_30ms.npy')
  rx = ofdm.demodulate(iq, ofdm.lte_numerology(15.36e6), 600, 14 * 30)
  ours = lte.lte_grid(11, 50, 30, channels=('crs', 'pss', 'sss'))
  used = ours != 0
  ratio = rx[used] / ours[used]
  assert used.sum() == 30 * 4 * 100 + 6 * 2 * 62
  assert np.std(ratio) / abs(np.mean(ratio)) < 1e-3


def test_crs_from_spec_formula():
  """TS 36.211 §6.10.1 by hand for one cell: m' = m + N_RB_max - N_RB, k = 6m + (v + v_shift) mod 6."""
  ncellid, n_rb, ns, l = 200, 25, 7, 4
  c_init = 2**10 * (7 * (ns + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + 1
  c = sequences.gold_sequence(c_init, 4 * 110).astype(int)
  k, values = lte.crs_port0(ncellid, n_rb, ns, l)
  m = np.arange(50)
  mp = m + 110 - 25
  np.testing.assert_array_equal(k, 6 * m + (3 + 200 % 6) % 6)
  np.testing.assert_allclose(values, ((1 - 2 * c[2 * mp]) + 1j * (1 - 2 * c[2 * mp + 1])) / np.sqrt(2))


def test_pcfich_and_phich_reg_positions_by_hand():
  # k_bar = 6 (N_ID mod 2 N_RB); REG i at k_bar + floor(i N_RB / 2) * 6 (TS 36.211 §6.7.4).
  np.testing.assert_array_equal(lte.pcfich_reg_starts(11, 50), [66, 216, 366, 516])
  # 96 free REGs; group 1: n_i = (11 + 1 + floor(i * 96 / 3)) mod 96 -> REGs 12, 44, 76 of the free list.
  np.testing.assert_array_equal(lte.phich_reg_starts(11, 50, 1), [78, 276, 474])
  assert lte.phich_group_count(50, 1) == 7 and lte.phich_group_count(6, 1 / 6) == 1


def test_pss_recurs_every_5_ms():
  fs = 7.68e6
  wave = lte.lte_waveform(5, ncellid=101, seed=3, sample_rate=fs, load='off')
  num = ofdm.lte_numerology(fs)
  spectrum = np.zeros(num.fft_size, np.complex64)
  spectrum[ofdm.subcarrier_bins(300, num)[150 - 31:150 + 31]] = sequences.lte_pss(101 % 3)
  replica = np.fft.ifft(spectrum)
  corr = np.abs(scipy.signal.fftconvolve(wave.iq, np.conj(replica[::-1]), mode='valid'))
  peaks, _ = scipy.signal.find_peaks(corr, height=0.5 * corr.max(), distance=int(fs * 1e-3))
  assert len(peaks) == 8
  np.testing.assert_array_equal(np.diff(peaks), int(fs * 5e-3))


def _occupied_bandwidth(iq, fs, resolution_hz):
  f, psd = scipy.signal.welch(iq, fs, nperseg=int(fs / resolution_hz), return_onesided=False)
  f, psd = np.fft.fftshift(f), np.fft.fftshift(psd)
  level = np.median(psd[np.abs(f) < 1e6])
  above = f[psd > level / 2]  # -3 dB edges
  return above.max() - above.min() + resolution_hz


@pytest.mark.parametrize('bandwidth', [5, 10, 20])
def test_occupied_bandwidth_is_n_rb_times_180_khz(bandwidth):
  wave = lte.lte_waveform(bandwidth, ncellid=7, seed=0, sample_rate=30.72e6, duration_s=0.01, load='full')
  measured = _occupied_bandwidth(wave.iq, wave.sample_rate, 3.75e3)
  assert abs(measured - lte.n_rb_for(bandwidth) * 180e3) <= 15e3


def test_rmc_presets_and_bad_bandwidth():
  assert lte.lte_waveform(10, ncellid=0, seed=0, duration_s=0.002).params['rmc'] == 'R.2'
  with pytest.raises(ValueError, match=r'bandwidth_mhz=7.*allowed'):
    lte.lte_waveform(7, ncellid=0, seed=0)
  with pytest.raises(ValueError, match='ncellid'):
    lte.lte_waveform(10, ncellid=504, seed=0, duration_s=0.001)
  with pytest.raises(ValueError, match='duration_s'):
    lte.lte_waveform(10, ncellid=0, seed=0, duration_s=float('nan'))
  with pytest.raises(ValueError, match='load'):
    lte.lte_waveform(10, ncellid=0, seed=0, load='busy')


def _sha(array):
  return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:32]


def test_tdd_thinned_and_old_loads_are_unchanged():
  """Bytes from before multi-port CRS and the traffic loads existed (one port, the MathWorks loads); the PSS in
  `portable_math.cis` since, within 1e-12 of numpy's exp; the PBCH's coded MIB since 2026-12-03 (every other RE
  kept its bytes, checked against the code before)."""
  source = lte.lte_source(5, ncellid=33, seed=7, duration_s=0.02, duplex='tdd', ul_dl_config=1,
                          special_subframe_config=6)
  assert _sha(source.grid()) == 'a069c0cf91b03738490c3f0b81e1a557'
  assert _sha(source.activity()) == '1d9fefe026d6fe673030ff04ccbc53a1'
  assert source.params == {'standard': 'LTE', 'bandwidth_mhz': 5.0, 'n_rb': 25, 'ncellid': 33, 'rmc': 'R.6',
                           'modulation': '64qam', 'load': 'thinned', 'cfi': 2, 'duplex': 'tdd', 'ul_dl_config': 1,
                           'special_subframe_config': 6}
  assert source.port_rows == ()
  sparse = lte.lte_source(3, ncellid=101, seed=12, duration_s=0.02, load='sparse')
  assert _sha(sparse.grid()) == '8f4a7a3a7f71e8a57e6b4aad16ec1f9d'
  for load, expected in (('full', '8fdcbcac9e282354328394be3570f2e6'), ('sparse', '3e0b5a6fb270562c59bd9cc6e2b30d1f'),
                         ('off', '2501791e1737d744b326be4fadd296f0'), ('thinned', '2e65554c568a5cf10a11a769af2904ab')):
    tdd = lte.lte_source(3, ncellid=101, seed=12, duration_s=0.02, load=load, duplex='tdd', ul_dl_config=3,
                         special_subframe_config=9)
    assert _sha(tdd.grid()) == expected, load
