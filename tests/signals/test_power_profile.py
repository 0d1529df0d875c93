"""Power profiles: hand-made envelopes and symbol patterns recovered exactly, alignment, PSS timing, and the
band-39 TD-LTE capture against a synthetic idle cell (through `shared_dir`)."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import counter_rng
from specsense_jax.signals import lte
from specsense_jax.signals import ofdm
from specsense_jax.signals import power_profile
from specsense_jax.signals import waveform as waveform_lib

FS = 1.92e6  # 1920 samples a subframe; LTE FFT 128, CP 10 / 9
# TS 36.211 Table 4.2-2, uplink-downlink configuration 2, written out again.
CONFIG_2 = 'DSUDDDSUDD'
CONFIG_2_DOWNLINK = (0, 3, 4, 5, 8, 9)
# What an idle cell sends (no PDCCH, no PDSCH), one antenna port.
IDLE_CHANNELS = ('pss', 'sss', 'crs', 'pbch', 'pcfich', 'phich')


def _constant_modulus(power: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Samples of exactly the given power each (random phase): their mean power is known without error."""
  phase = rng.uniform(0, 2 * np.pi, len(power))
  return (np.sqrt(power) * np.exp(1j * phase)).astype(np.complex128)


def _idle_lte(bandwidth_mhz, sample_rate, num_subframes, *, ncellid, seed=0, **kwargs):
  """An idle-like LTE cell (sync, reference and control signals only), rendered as `lte_source` does."""
  n_rb = lte.n_rb_for(bandwidth_mhz)
  rows = lte.lte_rows(ncellid, n_rb, num_subframes, counter_rng.key_from(waveform_lib.seed_sequence(seed)),
                      channels=IDLE_CHANNELS, **kwargs)
  source = waveform_lib.GridSource(label='LTE', bandwidth_hz=bandwidth_mhz * 1e6, num_subcarriers=12 * n_rb,
                                   num_symbols=14 * num_subframes, numerology_at=ofdm.lte_numerology, rows=rows,
                                   params={})
  return source.waveform(sample_rate, int(round(num_subframes * 1e-3 * sample_rate))).iq


def test_envelope_of_a_known_on_off_pattern():
  rng = np.random.default_rng(0)
  levels = {'D': 4.0, 'S': 0.25, 'U': 0.0}
  expected = np.array([levels[kind] for kind in CONFIG_2 * 2])
  start = 700
  iq = np.concatenate([_constant_modulus(np.full(start, 9.0), rng),  # not a whole period: skipped by `start`
                       _constant_modulus(np.repeat(expected, 1920), rng),
                       _constant_modulus(np.full(100, 9.0), rng)])  # a partial period at the end: ignored
  np.testing.assert_allclose(power_profile.subframe_envelope(iq, FS, start=start), expected, rtol=1e-12)
  slots = power_profile.subframe_envelope(iq, FS, period_s=0.5e-3, start=start)
  np.testing.assert_allclose(slots, np.repeat(expected, 2), rtol=1e-12)


@pytest.mark.parametrize('numerology', [ofdm.lte_numerology(FS), ofdm.nr_numerology(30, 3.84e6)],
                         ids=['lte_1.92', 'nr_30khz_3.84'])
def test_folded_symbol_power_recovers_a_known_pattern(numerology):
  rng = np.random.default_rng(1)
  symbols = numerology.symbols_per_subframe
  pattern = 1 + np.arange(symbols) % 5  # one value per symbol of the subframe
  gain = np.array([1, 50, 1, 1, 50, 1])  # subframes 1 and 4 are left out of the fold
  starts = numerology.symbol_starts(symbols)
  cps = np.asarray(numerology.cp_lengths)
  power = np.zeros(len(gain) * numerology.samples_per_subframe)
  for i, g in enumerate(gain):
    for l in range(symbols):
      first = i * numerology.samples_per_subframe + starts[l]
      power[first:first + cps[l]] = 1000  # a CP read by mistake would show
      power[first + cps[l]:first + cps[l] + numerology.fft_size] = g * pattern[l]
  start = 333
  iq = np.concatenate([_constant_modulus(np.full(start, 7.0), rng), _constant_modulus(power, rng)])
  folded = power_profile.folded_symbol_power(iq, numerology.sample_rate, numerology, start=start,
                                             subframes=[0, 2, 3, 5])
  assert folded.shape == (symbols,)  # 14 for LTE, 28 (two slots) at 30 kHz
  np.testing.assert_allclose(folded, pattern, rtol=1e-12)
  every = power_profile.folded_symbol_power(iq, numerology.sample_rate, numerology, start=start)
  np.testing.assert_allclose(every, pattern * gain.mean(), rtol=1e-12)


def test_alignment_of_a_shifted_copy():
  profile = np.random.default_rng(2).exponential(size=40)
  shifted = np.roll(profile, 13)
  assert power_profile.align(shifted, profile) == 13  # np.roll(other, lag) matches the reference
  assert power_profile.profile_correlation(shifted, profile) == pytest.approx(1.0)
  assert power_profile.profile_correlation(shifted, profile, lag=0) < 0.9
  longer = np.random.default_rng(3).exponential(size=60)
  assert power_profile.align(longer, longer[17:47], circular=False) == 17  # other[j] pairs with reference[j + 17]
  assert power_profile.profile_correlation(longer, longer[17:47], circular=False) == pytest.approx(1.0)


def test_db_after_flooring_sees_the_pattern_that_a_burst_hides_in_linear_power():
  np.testing.assert_allclose(power_profile.floored_db([1e-3, 0.0, 10.0], 1e-2), [-20, -20, 10])
  levels = {'D': 1.0, 'S': 0.3, 'U': 0.0}
  synthetic = np.array([levels[kind] for kind in CONFIG_2 * 4])
  capture = synthetic + 0.01  # the same pattern over a noise floor of 0.01 ...
  capture[15] += 30  # ... and one strong PDSCH burst (a SIB), as in the band-39 capture's subframe 15
  r_linear = power_profile.profile_correlation(capture, synthetic)
  r_db = power_profile.profile_correlation(power_profile.floored_db(capture, 0.01),
                                           power_profile.floored_db(synthetic, 0.01))
  assert r_linear < 0.3 and r_db > 0.9
  assert power_profile.align(capture, synthetic) == 0


def test_integral_lte_numerology_at_the_captures_rate():
  numerology = ofdm.lte_numerology(19.2e6)  # 19.2 = 1.25 x 15.36 Msps
  assert numerology.fft_size == 1280  # 2048 x 19.2 / 30.72
  assert numerology.cp_lengths[:2] == (100, 90)  # 160 and 144 T_s x 0.625
  assert numerology.samples_per_subframe == 19200


@pytest.mark.parametrize('duplex, extra', [('fdd', {}), ('tdd', dict(ul_dl_config=2, special_subframe_config=5))])
def test_pss_timing_of_a_shifted_noisy_cell(duplex, extra):
  fs, shift = 7.68e6, 12345  # 7680 samples a subframe
  wave = lte.lte_waveform(5, ncellid=101, seed=4, sample_rate=fs, duration_s=0.02, load='sparse', duplex=duplex,
                          **extra)
  iq = channel.add_awgn(np.roll(wave.iq, shift), 0.0, np.random.default_rng(5))
  timing = power_profile.frame_timing(iq, fs, duplex=duplex)
  # Subframe 0 now starts at sample 12345, so subframe 9 starts at 12345 - 7680 = 4665 (9 mod 5 = 4).
  assert (timing['start'], timing['half_frame_start'], timing['subframe_mod_5']) == (4665, 12345, 4)
  assert timing['n_id2'] == 101 % 3


def test_compare_recovers_the_timing_of_a_shifted_synthetic_capture():
  kwargs = dict(duplex='tdd', ul_dl_config=2, special_subframe_config=5)
  synthetic = _idle_lte(1.4, FS, 40, ncellid=7, **kwargs)
  shift = 13 * 1920 + 555  # subframe 0 of the capture starts at 25515: the first whole subframe is number 7
  capture = channel.add_awgn(np.roll(_idle_lte(1.4, FS, 40, ncellid=7, seed=1, **kwargs), shift), 3.0,
                             np.random.default_rng(6))
  numerology = ofdm.lte_numerology(FS)
  result = power_profile.compare_to_capture(capture, FS, synthetic, FS, numerology, CONFIG_2_DOWNLINK)
  assert (result['capture_start'], result['capture_first_subframe'] % 5) == (555, 7 % 5)
  assert result['snr_db'] == pytest.approx(3.0, abs=0.2)
  assert min(result['envelope_r_db'], result['symbols_r_db'], result['symbols_r_linear']) > 0.98
  # A synthetic signal at twice the rate is resampled to the numerology's rate first.
  fast = _idle_lte(1.4, 2 * FS, 40, ncellid=7, **kwargs)
  again = power_profile.compare_to_capture(capture, FS, fast, 2 * FS, numerology, CONFIG_2_DOWNLINK)
  assert again['capture_start'] == 555 and again['symbols_r_db'] > 0.98


@pytest.mark.parametrize('call, match', [
    (lambda: power_profile.subframe_envelope(np.ones(4000), FS, period_s=1.3e-6), 'period_s'),
    (lambda: power_profile.subframe_envelope(np.ones(4000), FS, start=-1), 'start'),
    (lambda: power_profile.subframe_envelope(np.ones(4000), FS, start=3000), 'start'),
    (lambda: power_profile.folded_symbol_power(np.ones(4000), 3.84e6, ofdm.lte_numerology(FS), start=0),
     'sample_rate'),
    (lambda: power_profile.folded_symbol_power(np.ones(4000), FS, ofdm.lte_numerology(FS), start=0,
                                               subframes=[2]), 'subframes'),
    (lambda: power_profile.align(np.arange(5.0), np.arange(6.0)), 'equal length'),
    (lambda: power_profile.align(np.ones(5), np.arange(5.0)), 'reference'),
    (lambda: power_profile.floored_db([1.0], 0), 'floor'),
    (lambda: power_profile.frame_timing(np.ones(40000), FS, duplex='xdd'), 'duplex'),
    (lambda: power_profile.compare_to_capture(np.ones(9600), FS, np.ones(9600), FS, ofdm.lte_numerology(FS),
                                              [10]), 'downlink_subframes'),
])
def test_bad_input_names_the_parameter(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_band39_capture_matches_a_synthetic_idle_cell(shared_dir):
  """The band-39 TD-LTE capture (UL/DL configuration 2, special subframe configuration 5) against a synthetic
  20 MHz idle cell with two antenna ports (`lte_waveform(..., load='idle', num_ports=2)`), noise added at the
  capture's SNR."""
  raw = np.fromfile(shared_dir / 'realdata/captures/lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', np.int8)
  capture = ((raw[0::2] + 1j * raw[1::2]) / 128).astype(np.complex64)  # int8 I/Q is x/128
  fs = 19.2e6
  numerology = ofdm.lte_numerology(fs)
  timing = power_profile.frame_timing(capture, fs, duplex='tdd')
  # Facts of frame structure type 2 seen in the capture, at the PSS timing: the uplink subframes (2 and 7
  # in Table 4.2-2's configuration 2) hold only noise, and the DwPTS of the special subframes ends with the
  # PSS in its third symbol (3 symbols: special subframe configuration 0 or 5, TS 36.211 Table 4.2-1).
  powers = power_profile.symbol_powers(capture, numerology, start=timing['start'])
  noise = power_profile.noise_power(capture, numerology, start=timing['start'])
  numbers = (timing['subframe_mod_5'] + np.arange(len(powers))) % 5
  excess_db = 10 * np.log10(powers / noise)
  assert np.all(np.abs(excess_db[numbers == 2, 1:13]) < 0.5)  # symbols 1..12 of every uplink subframe
  special = excess_db[numbers == 1].mean(axis=0)
  assert np.all(special[[0, 2]] > 3) and np.all(special[3:] < 0.5)  # symbol 0: CRS and control; 2: PSS

  snr_db = power_profile.estimate_snr_db(capture, numerology, start=timing['start'])

  def compare(ul_dl_config, special_subframe_config, downlink):
    clean = lte.lte_waveform(20, ncellid=0, seed=0, sample_rate=fs, duration_s=0.08, duplex='tdd',
                             ul_dl_config=ul_dl_config, special_subframe_config=special_subframe_config,
                             num_ports=2, load='idle').iq
    noise_power = float(np.mean(np.abs(clean) ** 2)) / 10 ** (snr_db / 10)
    synthetic = channel.add_awgn(clean, snr_db, np.random.default_rng(np.random.SeedSequence(39)))
    return power_profile.compare_to_capture(capture, fs, synthetic, fs, numerology, downlink,
                                            synthetic_noise_power=noise_power)

  result = compare(2, 5, CONFIG_2_DOWNLINK)
  # Measured: envelope r = 0.978 in dB (0.919 linear: the SIB bursts of subframe 5 weigh on linear power),
  # folded symbols r = 0.989 in dB (0.999 linear). The power-weighted timing (fine_timing, 2042) is about
  # 100 samples before the strongest PSS: several cells are in view, the strongest PSS is not the earliest.
  assert result['envelope_r_db'] >= 0.9 and result['symbols_r_db'] >= 0.9
  assert result['symbols_lag'] == 0 and result['capture_first_subframe'] % 5 == timing['subframe_mod_5']
  assert abs(result['capture_start'] - timing['start']) < numerology.cp_lengths[0] + 30
  # The bar separates configurations: UL/DL configuration 1 (DSUUDDSUUD) gives an envelope r of 0.84.
  assert compare(1, 5, (0, 4, 5, 9))['envelope_r_db'] < 0.9
