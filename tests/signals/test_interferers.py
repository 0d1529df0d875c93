"""Interferers labelled Unknown: DVB-T against EN 300 744, FM (Carson), CW, PMR bursts, SC-FDMA uplink in TDD."""

import numpy as np
import pytest

from specsense_jax.signals import dvbt
from specsense_jax.signals import interferers
from specsense_jax.signals import ofdm

# EN 300 744 Table 7, 2k continual pilots, written out again (the test does not read the module's table).
CONTINUAL_2K = [0, 48, 54, 87, 141, 156, 192, 201, 255, 279, 282, 333, 432, 450, 483, 525, 531, 618, 636, 714, 759,
                765, 780, 804, 873, 888, 918, 939, 942, 969, 984, 1050, 1101, 1107, 1110, 1137, 1140, 1146, 1206,
                1269, 1323, 1377, 1491, 1683, 1704]
TPS_2K = [34, 50, 209, 346, 413, 569, 595, 688, 790, 901, 1073, 1219, 1262, 1286, 1469, 1594, 1687]
TABLE_4_2_2 = ['DSUUUDSUUU', 'DSUUDDSUUD', 'DSUDDDSUDD', 'DSUUUDDDDD', 'DSUUDDDDDD', 'DSUDDDDDDD', 'DSUUUDSUUD']


def _band_power_fraction(iq, fs, lo, hi):
  spectrum = np.abs(np.fft.fft(iq.astype(np.complex128)))**2
  f = np.fft.fftfreq(len(iq), 1 / fs)
  return spectrum[(f >= lo) & (f <= hi)].sum() / spectrum.sum()


@pytest.mark.parametrize('bandwidth_mhz, mode, occupied_mhz', [(8, '8k', 7.61), (8, '2k', 7.61), (7, '8k', 6.66),
                                                               (6, '2k', 5.71)])
def test_dvbt_occupied_bandwidth(bandwidth_mhz, mode, occupied_mhz):
  wave = dvbt.dvbt_waveform(bandwidth_mhz, mode=mode, seed=1, sample_rate=15.36e6, duration_s=0.01)
  (start, count, lo, hi), = wave.occupancy
  # K carriers spaced 1/T_U: 8k 8 MHz: 6817 / 896 µs = 7.608 MHz (EN 300 744 Table 2 / Annex E).
  fft_size, k = {'2k': (2048, 1705), '8k': (8192, 6817)}[mode]
  assert hi - lo == pytest.approx(k * 8e6 * bandwidth_mhz / 7 / fft_size)
  assert hi - lo == pytest.approx(occupied_mhz * 1e6, abs=0.01e6)
  assert (start, count) == (0, len(wave.iq)) and wave.label == 'Unknown'
  assert _band_power_fraction(wave.iq, 15.36e6, lo, hi) > 0.995  # a broadcast fills its channel, nothing else
  assert np.abs(wave.iq[:100]).mean() > 0.5 and np.abs(wave.iq[-100:]).mean() > 0.5  # on from start to end


@pytest.mark.parametrize('mode, guard', [('2k', '1/4'), ('8k', 1 / 32)])
def test_dvbt_pilot_positions_and_boost(mode, guard):
  fs = 64e6 / 7  # 1/T of an 8 MHz channel: direct synthesis, T_U = FFT size samples
  wave = dvbt.dvbt_waveform(8, mode=mode, guard=guard, modulation='64qam', seed=7, sample_rate=fs, duration_s=0.005)
  n, k_total = {'2k': (2048, 1705), '8k': (8192, 6817)}[mode]
  g = n // {'1/4': 4, 0.03125: 32}[guard]
  phase = int(round(wave.params['symbol_phase_s'] * fs))
  start = n + g - phase + g  # useful part of the symbol after the one holding sample 0
  l = (wave.params['first_symbol'] + 1) % 68
  spectrum = np.fft.fft(wave.iq[start:start + n].astype(np.complex128)) / n * np.sqrt(k_total)
  cells = spectrum[(np.arange(k_total) - (k_total - 1) // 2) % n]
  boosted = np.flatnonzero((np.abs(np.abs(cells.real) - 4 / 3) < 1e-3) & (np.abs(cells.imag) < 1e-3))
  blocks = k_total // 1704
  continual = {c + 1704 * b for c in CONTINUAL_2K for b in range(blocks)}
  scattered = set(range(3 * (l % 4), k_total, 12))  # k = Kmin + 3·(l mod 4) + 12p
  assert set(boosted.tolist()) == continual | scattered
  assert cells[0].real == pytest.approx(-4 / 3, abs=1e-3)  # w_0 = 1 (all-ones PRBS): Re = 4/3·2(1/2 - 1)
  tps = np.array([t + 1704 * b for t in TPS_2K for b in range(blocks)])
  np.testing.assert_allclose(np.abs(cells[tps]), 1, atol=1e-3)
  data = np.setdiff1d(np.arange(k_total), np.concatenate([boosted, tps]))
  assert len(data) == {'2k': 1512, '8k': 6048}[mode]  # EN 300 744 Table 2: data carriers per symbol
  np.testing.assert_allclose(np.mean(np.abs(cells[data])**2), 1, atol=0.1)
  np.testing.assert_allclose(np.sort(np.unique(np.round(np.abs(cells[data].real) * np.sqrt(42)))), [1, 3, 5, 7])


def test_pilot_reference_sequence():
  # x^11 + x^2 + 1 from all ones, as an 11-bit shift register: out = bit 0, feedback bit0 ^ bit2 into bit 10.
  register, expected = 0x7FF, []
  for _ in range(200):
    expected.append(register & 1)
    register = (register >> 1) | ((((register >> 2) ^ register) & 1) << 10)
  np.testing.assert_array_equal(dvbt.reference_sequence(200), expected)


def test_fm_carson_bandwidth_and_peak_deviation():
  fs = 1.92e6
  wave = interferers.fm_waveform(seed=3, sample_rate=fs, duration_s=0.1)
  assert wave.params['carson_bandwidth_hz'] == 2 * (75e3 + 15e3)
  assert _band_power_fraction(wave.iq, fs, -90e3, 90e3) > 0.99
  np.testing.assert_allclose(np.abs(wave.iq), 1, atol=1e-5)  # constant envelope
  inst = np.diff(np.unwrap(np.angle(wave.iq.astype(np.complex128)))) * fs / (2 * np.pi)
  assert np.max(np.abs(inst)) == pytest.approx(75e3, rel=0.01)
  np.testing.assert_array_equal(wave.occupancy, [[0, len(wave.iq), -90e3, 90e3]])


def test_cw_at_its_offset():
  fs, offset = 1.92e6, -312.5e3
  wave = interferers.cw_waveform(offset, seed=2, sample_rate=fs, duration_s=0.01)
  spectrum = np.abs(np.fft.fft(wave.iq.astype(np.complex128)))**2
  f = np.fft.fftfreq(len(wave.iq), 1 / fs)
  assert f[np.argmax(spectrum)] == offset
  assert spectrum.max() / spectrum.sum() > 0.9999
  lo, hi = wave.occupancy[0, 2:]
  assert lo < offset < hi and hi - lo == 2e3


@pytest.mark.parametrize('seed', [7, 8, 9])  # bursts that began before the waveform, shorter there than a ramp
def test_narrowband_burst_ramps_follow_the_burst_ends(seed):
  fs = 1e6
  wave = interferers.narrowband_bursts(seed=seed, sample_rate=fs, duration_s=2e-3, burst_s=(0.5e-3, 1e-3),
                                       ramp_s=2e-4, num_channels=(1, 1), duty=(0.9, 1))
  channel = wave.params['channels'][0]
  magnitude = np.abs(wave.iq) / 10 ** (channel['power_db'] / 20)  # FSK has a constant envelope: |iq| = envelope
  assert np.all(magnitude <= 1 + 1e-5)
  for s0, count in channel['bursts']:
    ramp = int(min(2e-4, count / fs / 4) * fs) if 0 < s0 and s0 + count < len(wave.iq) else None
    if ramp:  # whole bursts: a raised-cosine rise and fall of `ramp` samples (the burst is at least 4 ramps long)
      rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
      np.testing.assert_allclose(magnitude[s0:s0 + ramp], rise, atol=1e-5)
      np.testing.assert_allclose(magnitude[s0 + count - ramp:s0 + count], rise[::-1], atol=1e-5)
  first_s0, first_count = channel['bursts'][0]
  assert first_s0 == 0 and magnitude[first_count - 1] < 0.01  # a cut burst still ends on its fall


@pytest.mark.parametrize('modulation', ['gmsk', '4fsk'])
def test_narrowband_bursts_stay_in_their_cells(modulation):
  fs = 1.92e6
  wave = interferers.narrowband_bursts(seed=5, sample_rate=fs, duration_s=0.3, span_hz=500e3, num_channels=(3, 3),
                                       burst_s=(0.01, 0.05), duty=(0.3, 0.6), modulation=modulation)
  channels = wave.params['channels']
  assert len(channels) == 3
  covered = np.zeros(len(wave.iq), bool)
  for s0, count, lo, hi in wave.occupancy:
    covered[int(s0):int(s0 + count)] = True
    assert hi - lo == 12.5e3
  assert np.all(wave.iq[~covered] == 0) and 0.2 < covered.mean() < 1
  centres = np.array([c['centre_hz'] for c in channels])
  np.testing.assert_allclose((centres - centres[0]) / 12.5e3, np.round((centres - centres[0]) / 12.5e3))
  assert np.all(np.abs(centres) + 6.25e3 <= 250e3)
  bands = [(c - 6.25e3, c + 6.25e3) for c in centres]
  assert sum(_band_power_fraction(wave.iq, fs, lo, hi) for lo, hi in bands) > 0.99  # inside the channels


def _symbol_energy(iq, numerology, num_symbols):
  starts = numerology.symbol_starts(num_symbols)
  lengths = numerology.cp_of(num_symbols) + numerology.fft_size
  return np.array([np.sum(np.abs(iq[s:s + n].astype(np.complex128))**2) for s, n in zip(starts, lengths)])


@pytest.mark.parametrize('ul_dl_config', range(7))
def test_lte_uplink_only_in_uplink_subframes(ul_dl_config):
  fs = 1.92e6
  wave = interferers.scfdma_uplink(1.4, seed=ul_dl_config, sample_rate=fs, duration_s=0.02,
                                   ul_dl_config=ul_dl_config)
  energy = _symbol_energy(wave.iq, ofdm.lte_numerology(fs), 280).reshape(20, 14)
  uplink = np.array([c == 'U' for c in TABLE_4_2_2[ul_dl_config] * 2])
  assert np.all(energy[~uplink] == 0)
  assert np.all(energy[uplink] > 0)  # PUCCH is sent in every uplink subframe


def test_nr_uplink_only_in_uplink_symbols():
  fs = 30.72e6
  wave = interferers.scfdma_uplink(20, rat='nr', scs_khz=30, tdd_pattern='DDDSU', seed=4, sample_rate=fs,
                                   duration_s=0.005)
  energy = _symbol_energy(wave.iq, ofdm.nr_numerology(30, fs), 140).reshape(10, 14)
  expected = np.zeros((10, 14), bool)  # DDDSU, special slot 10:2:2: slots 4 and 9, last 2 symbols of 3 and 8
  expected[[4, 9]] = True
  expected[[3, 8], 12:] = True
  np.testing.assert_array_equal(energy > 0, expected)


def test_dft_spreading_lowers_papr():
  fs = 7.68e6
  kwargs = dict(seed=11, sample_rate=fs, duration_s=0.02, duplex='fdd', num_ues=(1, 1), modulation='qpsk',
                pucch=False)
  single = interferers.scfdma_uplink(5, transform_precoding=True, **kwargs)
  plain = interferers.scfdma_uplink(5, transform_precoding=False, **kwargs)
  assert single.params['allocations'] == plain.params['allocations']
  numerology = ofdm.lte_numerology(fs)
  starts, n = numerology.symbol_starts(280) + numerology.cp_of(280), numerology.fft_size

  def papr_db(iq):
    blocks = np.abs(iq[starts[:, None] + np.arange(n)])**2
    blocks = blocks[(blocks.mean(axis=1) > 0) & (np.arange(280) % 7 != 3)]  # data symbols (DMRS in l = 3)
    return 10 * np.log10(np.quantile(blocks / blocks.mean(axis=1, keepdims=True), 0.999))
  assert papr_db(single.iq) < papr_db(plain.iq) - 2  # the 99.9 % point of the power CCDF


def test_uplink_occupancy_matches_the_energy():
  fs = 7.68e6
  wave = interferers.scfdma_uplink(5, seed=8, sample_rate=fs, duration_s=0.01, duplex='fdd')
  numerology = ofdm.lte_numerology(fs)
  n = numerology.fft_size
  starts = numerology.symbol_starts(140) + numerology.cp_of(140)
  f = np.fft.fftfreq(n, 1 / fs) + 7.5e3  # the half-subcarrier shift, restarted at each useful part
  for l, s in enumerate(starts):
    block = wave.iq[s:s + n].astype(np.complex128) * np.exp(-1j * np.pi * 15e3 * np.arange(n) / fs)
    power = np.abs(np.fft.fft(block))**2
    cells = wave.occupancy[(wave.occupancy[:, 0] <= s) & (wave.occupancy[:, 0] + wave.occupancy[:, 1] > s)]
    inside = np.zeros(n, bool)
    for _, _, lo, hi in cells:
      inside |= (f > lo) & (f < hi)
    assert np.all(power[~inside] < 1e-6 * power.max())
    assert np.all(power[inside].reshape(-1, 12).max(axis=1) > 0)  # and every RB of a cell has energy


GENERATORS = {
    'dvbt': lambda seed: dvbt.dvbt_waveform(seed=seed, mode='2k', sample_rate=9.6e6, duration_s=0.003),
    'cw': lambda seed: interferers.cw_waveform(1e5, seed=seed, sample_rate=1e6, duration_s=0.01, linewidth_hz=10),
    'fm': lambda seed: interferers.fm_waveform(seed=seed, sample_rate=1e6, duration_s=0.01),
    'bursts': lambda seed: interferers.narrowband_bursts(seed=seed, sample_rate=1e6, duration_s=0.05,
                                                         burst_s=(0.01, 0.02)),
    'scfdma': lambda seed: interferers.scfdma_uplink(3, seed=seed, sample_rate=5e6, duration_s=0.01, duplex='fdd'),
}


@pytest.mark.parametrize('name', sorted(GENERATORS))
def test_deterministic_from_the_seed(name):
  a, b, c = GENERATORS[name](5), GENERATORS[name](5), GENERATORS[name](6)
  assert a.iq.tobytes() == b.iq.tobytes() and np.array_equal(a.occupancy, b.occupancy) and a.params == b.params
  assert a.iq.tobytes() != c.iq.tobytes()
  assert a.label == 'Unknown' and a.iq.dtype == np.complex64 and a.occupancy.shape[1] == 4
  assert len(a.iq) == int(round(a.sample_rate * {'dvbt': 0.003, 'bursts': 0.05}.get(name, 0.01)))


@pytest.mark.parametrize('call, match', [
    (lambda: dvbt.dvbt_waveform(5, seed=0), 'bandwidth_mhz'),
    (lambda: dvbt.dvbt_waveform(mode='4k', seed=0), 'mode'),
    (lambda: dvbt.dvbt_waveform(guard='1/3', seed=0), 'guard'),
    (lambda: dvbt.dvbt_waveform(modulation='256qam', seed=0), 'modulation'),
    (lambda: dvbt.dvbt_waveform(sample_rate=5e6, seed=0), 'sample_rate'),
    (lambda: dvbt.dvbt_waveform(seed=-1), 'seed'),
    (lambda: interferers.cw_waveform(2e6, seed=0, sample_rate=1e6), 'offset_hz'),
    (lambda: interferers.cw_waveform(0, seed=0, duration_s=-1), 'duration_s'),
    (lambda: interferers.fm_waveform(seed=0, sample_rate=1e5), 'Carson'),
    (lambda: interferers.fm_waveform(seed=0, deviation_hz=0), 'deviation_hz'),
    (lambda: interferers.narrowband_bursts(seed=0, channel_spacing_hz=10e3), 'channel_spacing_hz'),
    (lambda: interferers.narrowband_bursts(seed=0, modulation='ask'), 'modulation'),
    (lambda: interferers.narrowband_bursts(seed=0, duty=(0.5, 0.2)), 'duty'),
    (lambda: interferers.narrowband_bursts(seed=0, burst_s=(0.01,)), 'burst_s'),
    (lambda: interferers.scfdma_uplink(4, seed=0), 'bandwidth_mhz'),
    (lambda: interferers.scfdma_uplink(5, seed=0, ul_dl_config=7), 'ul_dl_config'),
    (lambda: interferers.scfdma_uplink(5, seed=0, duplex='hdx'), 'duplex'),
    (lambda: interferers.scfdma_uplink(5, seed=0, rat='gsm'), 'rat'),
    (lambda: interferers.scfdma_uplink(20, seed=0, rat='nr', tdd_pattern='XYZ'), 'tdd_pattern'),
    (lambda: interferers.scfdma_uplink(5, seed=0, num_ues=(0, 2)), 'num_ues'),
    (lambda: interferers.scfdma_uplink(5, seed=0, modulation='bpsk'), 'modulation'),
    (lambda: interferers.scfdma_uplink(20, seed=0, sample_rate=7.68e6), 'sample_rate'),
])
def test_bad_arguments_are_named(call, match):
  with pytest.raises(ValueError, match=match):
    call()


# --- interferers in scenes: low-rate synthesis, interpolation, uplink grid -----------------------------------------

from specsense_jax.signals import scene_interferers  # noqa: E402


@pytest.mark.parametrize('a, b, tone_hz', [(25, 112, 4.1e6), (1, 20, -0.9e6)])
def test_low_rate_interpolation_of_a_tone_is_the_tone_at_the_frame_rate(a, b, tone_hz):
  fs, n, centre = 61.44e6, 20000, 3e6
  rate = fs * a / b
  s = np.arange(scene_interferers._samples_needed(n, a, b))
  low = np.exp(2j * np.pi * tone_hz * (s - scene_interferers._HALF_TAPS) / rate).astype(np.complex64)
  transmission, active = scene_interferers._low_rate_transmission(low, a, b, n, centre, None)
  assert active == pytest.approx(1, abs=1e-5) and transmission.power == pytest.approx(1, abs=1e-5)
  out = transmission.received(fs, n, None)
  exact = np.exp(2j * np.pi * (tone_hz + centre) * np.arange(n) / fs)
  error = np.mean(np.abs(out - exact) ** 2)
  assert 10 * np.log10(error) < -45  # 12-tap Kaiser sinc, the tone at 0.3 of the low rate
  indices = np.random.default_rng(1).choice(n, 999, replace=False)
  np.testing.assert_array_equal(transmission.received(fs, n, indices), out[indices])


def test_tone_transmission_is_a_phasor():
  tone = scene_interferers.ToneTransmission(1.25e6, 0.5, gain=2.0)
  out = tone.received(30.72e6, 1000, None)
  np.testing.assert_allclose(out, 2 * np.exp(1j * (2 * np.pi * 1.25e6 * np.arange(1000) / 30.72e6 + 0.5)), atol=1e-5)
  np.testing.assert_array_equal(tone.received(30.72e6, 1000, np.array([3, 999])), out[[3, 999]])


@pytest.mark.parametrize('rat, kwargs', [('lte', dict(ul_dl_config=1)), ('nr', dict(tdd_pattern='DDDSU', scs_khz=30))])
def test_uplink_grid_is_what_scfdma_uplink_modulates(rat, kwargs):
  up = interferers.uplink_grid(10, seed=5, duration_s=0.01, rat=rat, **kwargs)
  wave = interferers.scfdma_uplink(10, seed=5, duration_s=0.01, sample_rate=15.36e6, rat=rat, **kwargs)
  assert up.params == wave.params
  units = up.grid.shape[0] // 14
  uplink = interferers.uplink_symbols(rat, 'tdd', units, kwargs.get('ul_dl_config', 2),
                                      kwargs.get('tdd_pattern', 'DDDSU'), kwargs.get('scs_khz', 30)).reshape(-1)
  busy = np.abs(up.grid).sum(axis=1) > 0
  assert busy.any() and not (busy & ~uplink).any()
