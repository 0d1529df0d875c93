"""NR downlink against TS 38.211 / 38.213 / 38.104, and cell search on generated and real signals."""

import numpy as np
import pytest
import scipy.signal

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_receiver
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

# TS 38.213 §4.1, written out.
SSB_SYMBOLS = {
    ('A', 4): [2, 8, 16, 22], ('A', 8): [2, 8, 16, 22, 30, 36, 44, 50],
    ('B', 4): [4, 8, 16, 20], ('B', 8): [4, 8, 16, 20, 32, 36, 44, 48],
    ('C', 4): [2, 8, 16, 22], ('C', 8): [2, 8, 16, 22, 30, 36, 44, 50],
}


@pytest.mark.parametrize('case,num_blocks', sorted(SSB_SYMBOLS))
def test_ssb_symbols_sit_where_ts38213_puts_them(case, num_blocks):
  np.testing.assert_array_equal(nr.ssb_first_symbols(case, num_blocks), SSB_SYMBOLS[case, num_blocks])
  scs = 15 if case == 'A' else 30
  fs = 30.72e6
  wave = nr.nr_waveform(20, scs, ncellid=42, seed=5, sample_rate=fs, duration_s=0.025, ssb_case=case,
                        ssb_num_blocks=num_blocks)
  num = ofdm.nr_numerology(scs, fs)
  transmitted = np.flatnonzero(wave.params['ssb_transmitted'])
  period = 20 * 14 * scs // 15  # symbols per 20 ms
  first = [SSB_SYMBOLS[case, num_blocks][i] + p for p in (0, period) for i in transmitted]
  np.testing.assert_array_equal(wave.ssb_starts, num.symbol_starts(max(first) + 1)[first])
  # Each block: the PSS on subcarriers 56..182 of the block, the SSS two symbols later.
  n_sc = nr.n_rb_for(20, scs) * 12
  k0 = (nr.n_rb_for(20, scs) - 20) // 2 * 12
  for l0 in first:
    grid = ofdm.demodulate(wave.iq, num, n_sc, 4, first_symbol=l0)
    np.testing.assert_allclose(grid[0, k0 + 56:k0 + 183], sequences.nr_pss(42 % 3), atol=1e-3)
    np.testing.assert_allclose(grid[2, k0 + 56:k0 + 183], sequences.nr_sss(42), atol=1e-3)
    assert np.all(grid[0, k0:k0 + 56] == pytest.approx(0, abs=1e-3))  # zeros around the PSS


def test_ssb_offset_reports_block_centre():
  wave = nr.nr_waveform(20, 15, ncellid=1, seed=0, duration_s=0.005, ssb_rb_offset=0, sample_rate=30.72e6)
  # Block subcarrier 120 = carrier subcarrier 120; the carrier centre is subcarrier 106 * 6 = 636.
  assert wave.ssb_offset_hz == (120 - 636) * 15e3


@pytest.mark.parametrize('scs,ncellid,snr', [(15, 0, 20), (30, 1007, 0), (30, 500, 5)])
def test_demodulating_generated_waveform_recovers_pci(scs, ncellid, snr):
  wave = nr.nr_waveform(20, scs, ncellid=ncellid, seed=ncellid, sample_rate=30.72e6, duration_s=0.006)
  rx = channel.apply_channel(wave.iq, wave.sample_rate, seed=1, doppler_hz=50, snr_db=snr)
  found = nr_receiver.detect_nr_cell(rx, wave.sample_rate, scs, wave.ssb_offset_hz)
  assert found['ncellid'] == ncellid
  num = ofdm.nr_numerology(scs, wave.sample_rate)
  assert found['pss_start'] - num.cp_lengths[1] in wave.ssb_starts


# Real recordings (README of ../shared/realdata): file, rate, SCS, SSB offset from the centre, PCI.
CAPTURES = [
    ('nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', 23.04e6, 15, 1857.65e6 - 1865e6, 1),
    ('nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', 46.08e6, 30, -14.22e6, 1),
    ('nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', 46.08e6, 30, 9.84e6, 500),
    ('nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin', 184.32e6, 30, 25.59e6, 579),
]


@pytest.mark.parametrize('name,fs,scs,offset,pci', CAPTURES)
def test_pss_sss_decode_real_nr_cells(shared_dir, name, fs, scs, offset, pci):
  iq = np.fromfile(shared_dir / 'realdata/captures' / name, np.complex64)
  assert nr_receiver.detect_nr_cell(iq, fs, scs, offset)['ncellid'] == pci


@pytest.mark.parametrize('bandwidth,scs', [(10, 15), (20, 30), (40, 30)])
def test_occupied_bandwidth_is_n_rb_12_scs(bandwidth, scs):
  wave = nr.nr_waveform(bandwidth, scs, ncellid=3, seed=1, sample_rate=61.44e6, duration_s=0.01,
                        prb_fraction=(1, 1), slot_fraction=(1, 1), pdsch_period_slots=8)
  resolution = scs * 1e3 / 4
  f, psd = scipy.signal.welch(wave.iq, wave.sample_rate, nperseg=int(wave.sample_rate / resolution),
                              return_onesided=False)
  f, psd = np.fft.fftshift(f), np.fft.fftshift(psd)
  above = f[psd > np.median(psd[np.abs(f) < 2e6]) / 2]
  measured = above.max() - above.min() + resolution
  assert abs(measured - nr.n_rb_for(bandwidth, scs) * 12 * scs * 1e3) <= scs * 1e3


def test_n_rb_table_and_bad_combinations():
  assert nr.n_rb_for(50, 15) == 270 and nr.n_rb_for(100, 30) == 273 and nr.n_rb_for(5, 30) == 11
  with pytest.raises(ValueError, match=r'60.*15 kHz.*allowed'):
    nr.nr_waveform(60, 15, ncellid=0, seed=0)
  with pytest.raises(ValueError, match='scs_khz'):
    nr.nr_waveform(20, 60, ncellid=0, seed=0)
  with pytest.raises(ValueError, match='sample_rate'):
    nr.nr_waveform(100, 30, ncellid=0, seed=0)  # 98.3 MHz occupied > 61.44 MHz
  with pytest.raises(ValueError, match='ncellid'):
    nr.nr_waveform(20, 30, ncellid=1008, seed=0)
  with pytest.raises(ValueError, match='ssb_case'):
    nr.nr_waveform(20, 15, ncellid=0, seed=0, ssb_case='B')
  with pytest.raises(ValueError, match='sample_rate'):
    nr.nr_waveform(20, 30, ncellid=0, seed=0, sample_rate=-1)
  with pytest.raises(ValueError, match='duration_s'):
    nr.nr_waveform(20, 30, ncellid=0, seed=0, duration_s=float('inf'))
  with pytest.raises(ValueError, match='prb_fraction'):
    nr.nr_waveform(20, 30, ncellid=0, seed=0, prb_fraction=(0.5, 0.2))


def test_pdsch_groups_cover_requested_share():
  rng = np.random.default_rng(0)
  for _ in range(200):
    mask = nr.random_groups(rng, 106, (0.2, 0.7))
    runs = np.count_nonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])) == 1)
    assert 1 <= runs <= 3
    assert 0.2 * 106 - 1 <= mask.sum() <= 0.7 * 106 + 1


def test_resampled_synthesis_at_non_integral_rate():
  wave = nr.nr_waveform(10, 15, ncellid=3, seed=0, sample_rate=25e6, duration_s=0.002)
  assert len(wave.iq) == 50000 and wave.iq.dtype == np.complex64
  f, psd = scipy.signal.welch(wave.iq, 25e6, nperseg=4096, return_onesided=False)
  assert psd[np.abs(f) > 6e6].max() < psd[np.abs(f) < 4e6].mean() * 1e-3


def test_load_and_ssb_period_constants():
  assert nr.LOADS == ('matlab', 'idle', 'light', 'medium', 'heavy', 'full')
  assert nr.SSB_PERIODS_MS == (5, 10, 20, 40, 80, 160)  # TS 38.331 ssb-periodicityServingCell
  for bad in (15, 0, True, '20'):
    with pytest.raises(ValueError, match='ssb_period_ms must be one of'):
      nr.nr_source(10, 30, ncellid=0, seed=0, duration_s=0.001, ssb_period_ms=bad)


def test_new_ssb_options_on_the_matlab_load():
  default = nr.nr_source(20, 15, ncellid=9, seed=2, duration_s=0.005)
  assert not {'ssb_bitmap', 'ssb_period_ms', 'k_ssb', 'offset_to_point_a'} & set(default.params)
  # The n3 cell of ../shared/realdata: block subcarrier 0 on carrier subcarrier 26 = RB 2 + 2 subcarriers:
  # offsetToPointA 2 and k_SSB 2 (15 kHz units, TS 38.211 §4.4.4.2, §7.4.3.1); SS_REF 120 subcarriers above.
  source = nr.nr_source(20, 15, ncellid=9, seed=2, duration_s=0.005, ssb_first_subcarrier=26, ssb_bitmap='0110')
  assert (source.params['k_ssb'], source.params['offset_to_point_a'], source.params['ssb_bitmap']) == (2, 2, '0110')
  assert source.ssb_subcarrier == 146 and list(source.ssb_symbols) == [8, 16]  # case A blocks 1 and 2
  grid = source.grid()
  np.testing.assert_allclose(grid[8, 26 + 56:26 + 183], sequences.nr_pss(0), atol=1e-6)  # 9 = 3·3 + 0
  np.testing.assert_allclose(grid[10, 26 + 56:26 + 183], sequences.nr_sss(9), atol=1e-6)
  # 30 kHz: k_SSB and offsetToPointA count 15 kHz units, so both are even.
  source = nr.nr_source(20, 30, ncellid=9, seed=2, duration_s=0.005, ssb_first_subcarrier=42, ssb_period_ms=5)
  assert (source.params['k_ssb'], source.params['offset_to_point_a'], source.params['ssb_period_ms']) == (12, 6, 5)
