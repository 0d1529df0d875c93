"""Receiver impairments against closed forms (IRR of the K1/K2 model, ADC SQNR, tone levels in spectrogram
columns, Gaussian clipping, LO and clock offsets, Wiener phase noise) and against a HackRF capture."""

import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.special

from specsense_jax import spectrogram
from specsense_jax.signals import receiver
from specsense_jax.signals import receiver_chain

IDEAL = receiver.ReceiverParams(capture_rate=1.92e6)  # no impairment but a 16-bit ADC


def _noise(n, seed=0, power=1.0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=n) + 1j * rng.normal(size=n)) * math.sqrt(power / 2)


def _tone(n, cycles):
  return np.exp(2j * np.pi * cycles * np.arange(n) / n)


def _q(x):
  return 0.5 * scipy.special.erfc(x / math.sqrt(2))


@pytest.mark.parametrize('irr_db', [25.0, 35.0, 45.0])
def test_image_rejection_equals_k1_k2(irr_db):
  config = receiver.ReceiverConfig(iq_image_rejection_db=(irr_db, irr_db))
  drawn = config.draw(np.random.default_rng(int(irr_db)))
  params = dataclasses.replace(IDEAL, iq_gain=drawn.iq_gain, iq_phase=drawn.iq_phase)
  n, k = 4096, 300
  y, _ = receiver_chain.apply(_tone(n, k), 1.92e6, params, noise_power=1e-6)
  spectrum = np.abs(np.fft.fft(y)) ** 2
  g, phi = params.iq_gain, params.iq_phase  # the standard model: y = K1 x + K2 conj(x)
  k1, k2 = (1 + g * np.exp(-1j * phi)) / 2, (1 - g * np.exp(1j * phi)) / 2
  expected = 10 * np.log10(abs(k1) ** 2 / abs(k2) ** 2)
  assert abs(expected - irr_db) < 1e-6  # the draw hits the drawn IRR
  assert abs(10 * np.log10(spectrum[k] / spectrum[n - k]) - expected) < 0.5


@pytest.mark.parametrize('bits', [8, 12])
def test_sqnr_of_the_adc(bits):
  backoff = 15.0
  x = _noise(1 << 16, seed=bits)
  y, _ = receiver_chain.apply(x, 1.92e6, dataclasses.replace(IDEAL, adc_bits=bits, agc_backoff_db=backoff))
  scaled = x * np.vdot(x, y) / np.vdot(x, x)  # the AGC's gain, by least squares
  sqnr = 10 * np.log10(np.mean(np.abs(scaled) ** 2) / np.mean(np.abs(y - scaled) ** 2))
  assert abs(sqnr - (6.02 * bits + 1.76 - backoff)) < 1.0
  assert abs(10 * np.log10(np.mean(np.abs(y) ** 2)) + backoff) < 0.05  # the AGC's target RMS


def test_clipping_when_the_backoff_is_too_small():
  x = _noise(1 << 17, seed=3)
  y, _ = receiver_chain.apply(x, 1.92e6, dataclasses.replace(IDEAL, adc_bits=12, agc_backoff_db=3.0))
  rails = np.concatenate([y.real, y.imag])
  clipped = np.mean((rails <= -1) | (rails >= 1 - 2.0 ** -11))
  sigma = 10 ** (-3 / 20) / math.sqrt(2)  # per rail
  assert clipped == pytest.approx(2 * _q(1 / sigma), rel=0.1)  # 2Q(2) = 4.6 %
  y, _ = receiver_chain.apply(x, 1.92e6, dataclasses.replace(IDEAL, adc_bits=12, agc_backoff_db=20.0))
  assert np.max(np.abs(np.concatenate([y.real, y.imag]))) < 0.6


def test_dc_and_spur_levels_in_spectrogram_columns():
  fs_in, fs_cap, width = 7.68e6, 3.84e6, receiver.REFERENCE_COLUMNS
  nfft = spectrogram.average_nfft(width)
  column = 40  # a spur midway between the column's 4th and 5th FFT bin: its Hann lobe stays in the column
  f_spur = (column * nfft // width - nfft // 2 + 3.5) * fs_cap / nfft
  params = dataclasses.replace(IDEAL, capture_rate=fs_cap, dc_leak_dbc=-5.0, spur_offsets_hz=(f_spur,),
                               spur_levels_db=(15.0,), spur_phases=(0.3,))
  y, rate = receiver_chain.apply(_noise(1 << 19, seed=5), fs_in, params, noise_power=1.0)
  psd = 10 * np.log10(np.mean(10 ** (spectrogram.spectrogram_db(y, rate, (128, width), 'average') / 10), axis=0))
  floor = np.median(psd[20:108])
  excess = 10 ** ((psd - floor) / 10) - 1  # tone power over the noise power of one column
  assert abs(10 * np.log10(excess[column]) - 15.0) < 1.0
  # DC: -5 dBc of the input power; one column holds 1/width of the capture band, the band half the input's.
  expected_dc = -5.0 + 10 * np.log10(width * fs_in / fs_cap)
  assert abs(10 * np.log10(excess[width // 2 - 1] + excess[width // 2]) - expected_dc) < 1.0
  assert abs(psd[width // 2] - floor - expected_dc) < 2.0  # 5/6 of a Hann-windowed DC tone in its column


def test_dc_decay():
  fs, tau = 1.92e6, 2e-3
  params = dataclasses.replace(IDEAL, dc_leak_dbc=30.0, dc_decay_s=tau)
  y, _ = receiver_chain.apply(1e-3 * _noise(9600), fs, params, noise_power=1e-6)
  first, last = np.mean(y[:960]), np.mean(y[-960:])  # equal windows 4.5 ms apart: their means scale by exp(-t/τ)
  assert abs(20 * np.log10(abs(last / first)) - 20 * np.log10(math.exp(-4.5e-3 / tau))) < 0.2


def test_tilt_and_ripple_response():
  n, fs = 8192, 1.92e6
  bins = np.array([-3000, -1500, -200, 700, 2600])
  params = dataclasses.replace(IDEAL, tilt_db=2.0, ripple_db=1.0, ripple_cycles=2.0, ripple_phase=0.3)
  y, _ = receiver_chain.apply(sum(_tone(n, k) for k in bins), fs, params, noise_power=1e-9)
  measured = 20 * np.log10(np.abs(np.fft.fft(y))[bins % n])
  u = bins / n  # frequency over the captured band, -0.5..0.5
  expected = 2.0 * u + 1.0 * np.sin(2 * np.pi * 2.0 * u + 0.3)
  np.testing.assert_allclose(measured - measured[0], expected - expected[0], atol=0.05)


def test_lo_and_sample_clock_offsets_move_a_tone():
  n, fs, f0 = 1 << 16, 1.92e6, 300e3
  params = dataclasses.replace(IDEAL, lo_ppm=1.5, carrier_hz=2e9, clock_ppm=80.0)
  y, _ = receiver_chain.apply(np.exp(2j * np.pi * f0 * np.arange(n) / fs), fs, params, noise_power=1e-9)
  z = y[100:-100].astype(np.complex128)
  measured = np.angle(np.vdot(z[:-1], z[1:])) * fs / (2 * np.pi)
  expected = (f0 - 1.5e-6 * 2e9) / (1 + 80e-6)  # LO 3 kHz high; the fast clock scales frequencies by 1/(1+ε)
  assert abs(measured - expected) < 0.5


def test_wiener_phase_noise_level():
  n, fs, level, lag = 1 << 17, 1.92e6, -80.0, 64
  params = dataclasses.replace(IDEAL, phase_noise_dbc_hz=level, seed=7)
  y, _ = receiver_chain.apply(np.ones(n, complex), fs, params, noise_power=1e-9)
  phase = np.unwrap(np.angle(y.astype(np.complex128)))
  steps = phase[lag::lag] - phase[:-lag:lag]
  # L(f) = D / (4π² f²) for a random walk of diffusion D rad²/s, so D = 4π²·(10 kHz)²·10^(L/10).
  diffusion = 4 * np.pi ** 2 * 1e8 * 10 ** (level / 10)
  assert np.var(steps) == pytest.approx(diffusion * lag / fs, rel=0.1)


@pytest.mark.parametrize('capture_rate', receiver.CAPTURE_RATES)
def test_output_rate_and_length(capture_rate):
  fs, n = 61.44e6, 61440  # 1 ms
  params = dataclasses.replace(IDEAL, capture_rate=capture_rate, clock_ppm=2.0, passband=0.9)
  y, rate = receiver_chain.apply(_noise(n), fs, params, noise_power=1.0)
  assert rate == capture_rate and y.dtype == np.complex64
  assert len(y) == round(1e-3 * capture_rate)


def test_deterministic_from_params():
  params = receiver.ReceiverConfig.realistic().draw(np.random.default_rng(11))
  assert params == receiver.ReceiverConfig.realistic().draw(np.random.default_rng(11))
  again = receiver.ReceiverParams.from_dict(json.loads(json.dumps(params.to_dict())))
  assert again == params
  x = _noise(61440, seed=2).astype(np.complex64)
  y1, _ = receiver_chain.apply(x, 61.44e6, params)
  y2, _ = receiver_chain.apply(x, 61.44e6, again)
  assert y1.tobytes() == y2.tobytes()
  other = dataclasses.replace(params, seed=params.seed + 1, phase_noise_dbc_hz=-80.0)
  assert receiver_chain.apply(x, 61.44e6, other)[0].tobytes() != y1.tobytes()


def test_realistic_family_draws_both_kinds():
  draws = [receiver.ReceiverConfig.realistic().draw(np.random.default_rng(s)) for s in range(40)]
  kinds = {p.kind for p in draws}
  assert kinds == {'hackrf', 'usrp'}
  for p in draws:
    assert p.capture_rate in receiver.CAPTURE_RATES
    assert (p.adc_bits == 8) == (p.kind == 'hackrf')
    assert (p.dc_decay_s is not None) == (p.kind == 'usrp')
    assert all(abs(f) < 0.5 * p.capture_rate for f in p.spur_offsets_hz)


@pytest.mark.parametrize('field, value', [
    ('capture_rates', ()), ('adc_bits', (10,)), ('agc_backoff_db', (20.0, 8.0)), ('dc_leak_dbc', (-50.0, 60.0)),
    ('iq_image_rejection_db', (5.0, 45.0)), ('num_spurs', (1, 20)), ('spur_offsets', (0.1, 0.5)),
    ('passband', 1.2), ('kinds', (('rtl', 1.0),)), ('dc_decay_s', (0.0, 1.0)), ('phase_noise_dbc_hz', (-80, -20)),
    ('lo_error_ppm', (-200.0, 2.0)), ('sample_clock_ppm', 'fast')])
def test_bad_config_names_the_field(field, value):
  with pytest.raises(ValueError, match=field):
    receiver.ReceiverConfig(**{field: value}).validate()


def test_bad_params_and_rates():
  with pytest.raises(ValueError, match='adc_bits'):
    receiver_chain.apply(_noise(1000), 1.92e6, dataclasses.replace(IDEAL, adc_bits=9))
  with pytest.raises(ValueError, match='capture_rate'):
    receiver_chain.apply(_noise(1000), 1.92e6, dataclasses.replace(IDEAL, capture_rate=math.pi * 1e6))
  with pytest.raises(ValueError, match='spur'):
    receiver_chain.apply(_noise(1000), 1.92e6, dataclasses.replace(IDEAL, spur_offsets_hz=(1e5,)))


def _column_psd_db(iq, fs):
  return 10 * np.log10(np.mean(10 ** (spectrogram.spectrogram_db(iq, fs, (128, 128), 'average') / 10), axis=0))


def test_hackrf_preset_dc_spur_as_the_band3_capture(shared_dir):
  raw = np.fromfile(shared_dir / 'realdata/captures/lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', np.int8)
  capture = (raw[0::2] + 1j * raw[1::2]).astype(np.complex64) / 128
  psd = _column_psd_db(capture, 19.2e6)
  floor = np.median(psd[[0, 1, 2, 125, 126, 127]])  # noise outside the carrier's +-9 MHz
  capture_dc = psd[64] - floor
  in_band = np.median(psd[20:108]) - floor
  print(f'band-3 capture: DC column {capture_dc:.1f} dB over the noise floor, LTE {in_band:.1f} dB')
  assert 15 <= capture_dc <= 30  # measured: 20.8 dB
  # A carrier of the same in-band level over white noise at twice the rate, through HackRF draws at 19.2 Msps.
  fs, n = 38.4e6, 1 << 19
  spectrum = np.fft.fft(_noise(n, seed=9))
  occupied = np.abs(np.fft.fftfreq(n, 1 / fs)) < 9e6
  spectrum[occupied] *= math.sqrt(1 + 10 ** (in_band / 10))
  x = np.fft.ifft(spectrum)
  config = receiver.ReceiverConfig.realistic(kinds=(('hackrf', 1.0),), capture_rates=(19.2e6,))
  for seed in range(3):
    params = dataclasses.replace(config.draw(np.random.default_rng(seed)), tilt_db=0.0, ripple_db=0.0,
                                 spur_offsets_hz=(), spur_levels_db=(), spur_phases=())  # the DC alone
    y, rate = receiver_chain.apply(x, fs, params, noise_power=1.0)
    out = _column_psd_db(y, rate)
    dc = out[64] - np.median(out[[3, 124]])  # noise between the carrier and the filter's edge
    print(f"HackRF draw {seed}: {params.dc_leak_dbc:.1f} dBc -> DC column {dc:.1f} dB over the floor")
    assert 15 <= dc <= 30, (seed, dc, params.dc_leak_dbc)
