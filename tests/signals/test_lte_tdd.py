"""LTE TDD (frame structure type 2, TS 36.211 §4.2) against the 3GPP tables, and FDD left unchanged."""

import hashlib

import numpy as np
import pytest
import scipy.signal

from specsense_jax.signals import lte
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

FS = 1.92e6  # the smallest rate of a 1.4 MHz carrier (FFT 128)
# Written out again from TS 36.211 Table 4.2-2 (subframes 0..9) and Table 4.2-1 (DwPTS symbols, normal CP), so
# the test does not read the module's own tables.
TABLE_4_2_2 = ['DSUUUDSUUU', 'DSUUDDSUUD', 'DSUDDDSUDD', 'DSUUUDDDDD', 'DSUUDDDDDD', 'DSUDDDDDDD', 'DSUUUDSUUD']
DWPTS_SYMBOLS = [3, 9, 10, 11, 12, 3, 9, 10, 11, 6]
# TS 36.211 Table 6.9-1, '-' written as 0.
TABLE_6_9_1 = ['2100021000', '0100101001', '0001000010', '1000000011', '0000000011', '0000000010',
               '1100011001']


def _expected_downlink(ul_dl_config, special_subframe_config):
  mask = np.zeros((10, 14), bool)
  for sf, kind in enumerate(TABLE_4_2_2[ul_dl_config]):
    mask[sf, :{'D': 14, 'S': DWPTS_SYMBOLS[special_subframe_config], 'U': 0}[kind]] = True
  return mask


def _symbol_energy(iq, sample_rate, num_symbols):
  numerology = ofdm.lte_numerology(sample_rate)
  starts = numerology.symbol_starts(num_symbols)
  lengths = numerology.cp_of(num_symbols) + numerology.fft_size
  return np.array([np.sum(np.abs(iq[s:s + n].astype(np.complex128))**2) for s, n in zip(starts, lengths)])


def test_tables():
  for config, (pattern, period) in lte_tdd.UL_DL_CONFIGS.items():
    assert pattern == TABLE_4_2_2[config]
    assert period == (5 if pattern[6] == 'S' else 10)  # a 5 ms switch period has a second special subframe
  for config, (dwpts, uppts) in lte_tdd.SPECIAL_SUBFRAME_CONFIGS_TS.items():
    assert lte_tdd.dwpts_symbols(config) == DWPTS_SYMBOLS[config]
    assert uppts in (2192, 4384)  # 1 or 2 uplink SC-FDMA symbols, normal CP
    assert dwpts + uppts < lte_tdd.SUBFRAME_TS  # a guard period remains
  for config in range(7):
    np.testing.assert_array_equal(lte_tdd.phich_groups(config, 1), [int(c) for c in TABLE_6_9_1[config]])
    uplink = np.array([kind == 'U' for kind in TABLE_4_2_2[config]])
    assert not lte_tdd.phich_groups(config, 3)[uplink].any()


# All 70 pairs of UL/DL and special subframe configurations (about 2 ms each at 1.92 MHz).
@pytest.mark.parametrize('ul_dl_config', range(7))
@pytest.mark.parametrize('special_subframe_config', range(10))
def test_exactly_the_downlink_symbols_carry_energy(ul_dl_config, special_subframe_config):
  kwargs = dict(duplex='tdd', ul_dl_config=ul_dl_config, special_subframe_config=special_subframe_config)
  wave = lte.lte_waveform(1.4, ncellid=ul_dl_config * 70 + special_subframe_config, seed=special_subframe_config,
                          sample_rate=FS, duration_s=0.02, load='full', **kwargs)
  energy = _symbol_energy(wave.iq, FS, 280).reshape(20, 14)
  expected = np.tile(_expected_downlink(ul_dl_config, special_subframe_config), (2, 1))
  np.testing.assert_array_equal(energy > 0, expected)
  assert np.all(energy[~expected] == 0)  # uplink, GP and UpPTS samples are exactly zero
  np.testing.assert_array_equal(lte_tdd.downlink_symbols(ul_dl_config, special_subframe_config), expected[:10])
  source = lte.lte_source(1.4, ncellid=1, seed=0, duration_s=0.01, load='full', **kwargs)
  np.testing.assert_array_equal(source.activity(), source.grid() != 0)


@pytest.mark.parametrize('ncellid', [0, 200, 503])
def test_pss_and_sss_at_frame_structure_type_2_positions(ncellid):
  grid = lte.lte_grid(ncellid, 25, 10, channels=('pss', 'sss'), duplex='tdd', ul_dl_config=1,
                      special_subframe_config=4).reshape(10, 14, 300)
  used = {tuple(x) for x in np.argwhere(np.abs(grid).sum(axis=2) > 0)}
  assert used == {(1, 2), (6, 2), (0, 13), (5, 13)}  # TS 36.211 §6.11.1.2, §6.11.2.2
  centre = slice(150 - 31, 150 + 31)
  for sf in (1, 6):
    np.testing.assert_array_equal(grid[sf, 2, centre], sequences.lte_pss(ncellid % 3))
  for sf in (0, 5):
    np.testing.assert_array_equal(grid[sf, 13, centre], sequences.lte_sss(ncellid, sf))


def test_pss_correlation_peaks_in_symbol_2_of_subframes_1_and_6():
  fs, ncellid = 7.68e6, 101
  wave = lte.lte_waveform(5, ncellid=ncellid, seed=3, sample_rate=fs, duration_s=0.02, load='off', duplex='tdd',
                          ul_dl_config=2, special_subframe_config=5)
  num = ofdm.lte_numerology(fs)
  spectrum = np.zeros(num.fft_size, np.complex64)
  spectrum[ofdm.subcarrier_bins(300, num)[150 - 31:150 + 31]] = sequences.lte_pss(ncellid % 3)
  replica = np.fft.ifft(spectrum)
  corr = np.abs(scipy.signal.fftconvolve(wave.iq, np.conj(replica[::-1]), mode='valid'))
  peaks, _ = scipy.signal.find_peaks(corr, height=0.5 * corr.max(), distance=int(fs * 1e-3))
  starts = num.symbol_starts(280)
  useful = [starts[14 * sf + 2] + num.cp_lengths[2] for sf in (1, 6, 11, 16)]  # after the cyclic prefix
  np.testing.assert_array_equal(peaks, useful)


def test_phich_groups_follow_table_6_9_1_and_pdcch_takes_the_rest():
  n_rb, ncellid = 50, 11
  for config in range(7):
    grid = lte.lte_grid(ncellid, n_rb, 10, channels=('phich',), duplex='tdd', ul_dl_config=config,
                        special_subframe_config=7).reshape(10, 14, 600)
    groups = lte.phich_group_count(n_rb, 1) * np.array([int(c) for c in TABLE_6_9_1[config]])
    np.testing.assert_array_equal(np.count_nonzero(grid[:, 0], axis=1), 12 * groups)
    control = lte.lte_grid(ncellid, n_rb, 10, channels=('crs', 'pcfich', 'phich', 'pdcch'), duplex='tdd',
                           ul_dl_config=config, special_subframe_config=7).reshape(10, 14, 600)
    # Symbol 0 of a downlink subframe: every RE but those of port 1's RS; nothing in uplink subframes.
    downlink = np.array([kind != 'U' for kind in TABLE_4_2_2[config]])
    np.testing.assert_array_equal(np.count_nonzero(control[:, 0], axis=1), downlink * (600 - 2 * n_rb))


def test_control_region_of_subframes_1_and_6_and_pcfich():
  grid = lte.lte_grid(5, 25, 10, cfi=3, channels=('pdcch',), duplex='tdd', ul_dl_config=5,
                      special_subframe_config=4).reshape(10, 14, 300)
  active = np.abs(grid).sum(axis=2) > 0
  np.testing.assert_array_equal(active.sum(axis=1), [3, 2, 0, 3, 3, 3, 2, 3, 3, 3])  # TS 36.211 Table 6.7-1
  pcfich = lte.lte_grid(5, 25, 10, cfi=3, channels=('pcfich',), duplex='tdd', ul_dl_config=5,
                        special_subframe_config=4).reshape(10, 14, 300)
  k = (lte.pcfich_reg_starts(5, 25)[:, None] + np.array([o for o in range(6) if (o - 5) % 3])).reshape(-1)
  assert not np.allclose(lte.pcfich_symbols(5, 2, 2), lte.pcfich_symbols(5, 2, 3))
  np.testing.assert_allclose(pcfich[1, 0, k], lte.pcfich_symbols(5, 2, 2), atol=1e-6)  # the PCFICH says CFI 2
  np.testing.assert_allclose(pcfich[3, 0, k], lte.pcfich_symbols(5, 6, 3), atol=1e-6)


def test_no_pdsch_in_dwpts_of_special_configurations_0_and_5():
  rbs = np.ones((10, 25), bool)
  for special, expected in ((0, 0), (5, 0), (9, 4), (4, 10)):  # DwPTS symbols after the 2-symbol control region
    grid = lte.lte_grid(3, 25, 10, pdsch_rbs=rbs, channels=('pdsch',), duplex='tdd', ul_dl_config=2,
                        special_subframe_config=special).reshape(10, 14, 300)
    assert np.count_nonzero(np.abs(grid[1]).sum(axis=1)) == expected


def test_rendering_chosen_samples_equals_whole_tdd_waveform():
  source = lte.lte_source(5, ncellid=77, seed=9, duration_s=0.02, duplex='tdd', ul_dl_config=0,
                          special_subframe_config=9)
  fs, n = 7.68e6, int(0.02 * 7.68e6)
  whole = source.waveform(fs, n).iq
  indices = np.sort(np.random.default_rng(0).choice(n, 5000, replace=False))
  np.testing.assert_array_equal(source.render(fs, n, indices), whole[indices])


def test_fdd_default_is_unchanged():
  default = lte.lte_waveform(5, ncellid=9, seed=2, sample_rate=7.68e6, duration_s=0.01)
  explicit = lte.lte_waveform(5, ncellid=9, seed=2, sample_rate=7.68e6, duration_s=0.01, duplex='fdd',
                              ul_dl_config=6, special_subframe_config=0)
  assert default.iq.tobytes() == explicit.iq.tobytes() and 'duplex' not in default.params
  # Grids and activity maps from before TDD existed (sha256 of the bytes; same FDD REs and values since, but for
  # the PSS's last bits, from `portable_math.cis`, and the PBCH's coded MIB).
  grid = lte.lte_grid(17, 6, 10, seed=4, pdsch_rbs=np.ones((10, 6), bool), cfi=3, phich_ng=2)
  active = lte.lte_rows(17, 6, 10, 5, pdsch_rbs=np.ones((10, 6), bool))(np.arange(140), values=False)
  assert hashlib.sha256(grid.tobytes()).hexdigest().startswith('5fc327144a68e20d217aaf5d2267e5fb')
  assert hashlib.sha256(active.tobytes()).hexdigest().startswith('928103f41542c55d9e6fbe6f65287474')
  fdd = lte.lte_grid(0, 6, 10, channels=('pss', 'sss')).reshape(10, 14, 72)
  assert {tuple(x) for x in np.argwhere(np.abs(fdd).sum(axis=2) > 0)} == {(0, 6), (5, 6), (0, 5), (5, 5)}


@pytest.mark.parametrize('kwargs, match', [
    (dict(duplex='TDD'), r"duplex must be one of \('fdd', 'tdd'\)"),
    (dict(duplex='tdd', ul_dl_config=7), r'ul_dl_config must be one of \[0, 1, 2, 3, 4, 5, 6\]'),
    (dict(duplex='tdd', ul_dl_config=True), 'ul_dl_config'),
    (dict(duplex='tdd', special_subframe_config=10), r'special_subframe_config must be one of \[0, 1, .*9\]'),
    (dict(special_subframe_config=-1), 'special_subframe_config'),
])
def test_bad_duplex_options_name_the_parameter(kwargs, match):
  with pytest.raises(ValueError, match=match):
    lte.lte_waveform(1.4, ncellid=0, seed=0, sample_rate=FS, duration_s=0.001, **kwargs)
