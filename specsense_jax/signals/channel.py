"""Propagation channels, AWGN at a measured SNR, carrier frequency offset and time shift.

Fading processes are sums of sinusoids with uniformly random arrival angles and phases, so their ensemble
autocorrelation is exactly the Jakes/Clarke J0(2π f_D τ). Gains are computed on a coarse time grid (far
above the Doppler bandwidth) and linearly interpolated, which keeps a 40 ms frame at 61.44 MHz cheap.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from specsense_jax.signals import waveform as waveform_lib

_SINUSOIDS = 32
_COARSE_RATE_PER_HZ = 64  # coarse gain samples per Hz of Doppler (at least 1 kHz)


@dataclasses.dataclass(frozen=True)
class TapProfile:
  """A power-delay profile. Delays are normalized by the delay spread when `scaled`, else in seconds."""
  delays: tuple[float, ...]
  powers_db: tuple[float, ...]
  scaled: bool
  los: bool = False  # first entry is the LoS specular part of tap 1, second its Rayleigh part


# TR 38.901 §7.7.2, Tables 7.7.2-1..7.7.2-5 (TDL-A..E), normalized delays.
TDL_PROFILES = {
    'A': TapProfile(
        (0.0, 0.3819, 0.4025, 0.5868, 0.4610, 0.5375, 0.6708, 0.5750, 0.7618, 1.5375, 1.8978, 2.2242, 2.1718,
         2.4942, 2.5119, 3.0582, 4.0810, 4.4579, 4.5695, 4.7966, 5.0066, 5.3043, 9.6586),
        (-13.4, 0.0, -2.2, -4.0, -6.0, -8.2, -9.9, -10.5, -7.5, -15.9, -6.6, -16.7, -12.4, -15.2, -10.8, -11.3,
         -12.7, -16.2, -18.3, -18.9, -16.6, -19.9, -29.7), scaled=True),
    'B': TapProfile(
        (0.0, 0.1072, 0.2155, 0.2095, 0.2870, 0.2986, 0.3752, 0.5055, 0.3681, 0.3697, 0.5700, 0.5283, 1.1021,
         1.2756, 1.5474, 1.7842, 2.0169, 2.8294, 3.0219, 3.6187, 4.1067, 4.2790, 4.7834),
        (0.0, -2.2, -4.0, -3.2, -9.8, -1.2, -3.4, -5.2, -7.6, -3.0, -8.9, -9.0, -4.8, -5.7, -7.5, -1.9, -7.6,
         -12.2, -9.8, -11.4, -14.9, -9.2, -11.3), scaled=True),
    'C': TapProfile(
        (0.0, 0.2099, 0.2219, 0.2329, 0.2176, 0.6366, 0.6448, 0.6560, 0.6584, 0.7935, 0.8213, 0.9336, 1.2285,
         1.3083, 2.1704, 2.7105, 4.2589, 4.6003, 5.4902, 5.6077, 6.3065, 6.6374, 7.0427, 8.6523),
        (-4.4, -1.2, -3.5, -5.2, -2.5, 0.0, -2.2, -3.9, -7.4, -7.1, -10.7, -11.1, -5.1, -6.8, -8.7, -13.2,
         -13.9, -13.9, -15.8, -17.1, -16.0, -15.7, -21.6, -22.8), scaled=True),
    'D': TapProfile(
        (0.0, 0.0, 0.035, 0.612, 1.363, 1.405, 1.804, 2.596, 1.775, 4.042, 7.937, 9.424, 9.708, 12.525),
        (-0.2, -13.5, -18.8, -21.0, -22.8, -17.9, -20.1, -21.9, -22.9, -27.8, -23.6, -24.8, -30.0, -27.7),
        scaled=True, los=True),
    'E': TapProfile(
        (0.0, 0.0, 0.5133, 0.5440, 0.5630, 0.5440, 0.7112, 1.9092, 1.9293, 1.9589, 2.6426, 3.7136, 5.4524,
         12.0034, 20.6519),
        (-0.03, -22.03, -15.8, -18.1, -19.8, -22.9, -22.4, -18.6, -20.8, -22.6, -22.3, -25.6, -20.2, -29.8,
         -29.2), scaled=True, los=True),
}

# TS 36.101 Annex B.2.1, Tables B.2.1-2..4: EPA, EVA, ETU (delays in seconds).
LTE_PROFILES = {
    'epa': TapProfile(tuple(d * 1e-9 for d in (0, 30, 70, 90, 110, 190, 410)),
                      (0.0, -1.0, -2.0, -3.0, -8.0, -17.2, -20.8), scaled=False),
    'eva': TapProfile(tuple(d * 1e-9 for d in (0, 30, 150, 310, 370, 710, 1090, 1730, 2510)),
                      (0.0, -1.5, -1.4, -3.6, -0.6, -9.1, -7.0, -12.0, -16.9), scaled=False),
    'etu': TapProfile(tuple(d * 1e-9 for d in (0, 50, 120, 200, 230, 500, 1600, 2300, 5000)),
                      (-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, -3.0, -5.0, -7.0), scaled=False),
}


def _coarse_gains(rng: np.random.Generator, num_paths: int, num_samples: int, sample_rate: float,
                  doppler_hz: float) -> tuple[np.ndarray, int]:
  """Sum-of-sinusoids gains on a coarse grid: ((num_paths, M) complex128, step in samples)."""
  doppler_hz = waveform_lib.check_positive('doppler_hz', doppler_hz, allow_zero=True)
  angles = rng.uniform(0, 2 * np.pi, (num_paths, _SINUSOIDS))
  phases = rng.uniform(0, 2 * np.pi, (num_paths, _SINUSOIDS))
  coarse_rate = max(1e3, _COARSE_RATE_PER_HZ * doppler_hz)
  step = max(1, int(sample_rate // coarse_rate))
  t_coarse = np.arange(0, num_samples + step, step) / sample_rate
  arg = 2 * np.pi * doppler_hz * np.cos(angles)[:, :, None] * t_coarse + phases[:, :, None]
  return np.exp(1j * arg).sum(axis=1) / np.sqrt(_SINUSOIDS), step


def _interpolate(coarse: np.ndarray, step: int, num_samples: int) -> np.ndarray:
  """Linear interpolation of one path's coarse gains (spaced `step` samples) to `num_samples` samples."""
  c = coarse.astype(np.complex64)
  frac = (np.arange(step) / step).astype(np.float32)
  fine = c[:-1, None] + (c[1:] - c[:-1])[:, None] * frac[None, :]
  return fine.reshape(-1)[:num_samples]


def rayleigh_gains(rng: np.random.Generator, num_paths: int, num_samples: int, sample_rate: float,
                   doppler_hz: float) -> np.ndarray:
  """Unit-power Rayleigh fading gains with a Jakes Doppler spectrum, (num_paths, num_samples) complex64."""
  coarse, step = _coarse_gains(rng, num_paths, num_samples, sample_rate, doppler_hz)
  return np.stack([_interpolate(c, step, num_samples) for c in coarse])


def _apply_taps(iq: np.ndarray, delays_s, powers_db, sample_rate: float, rng: np.random.Generator,
                doppler_hz: float, los_k_linear: float = 0.0) -> np.ndarray:
  """y[n] = Σ_k g_k[n] x[n - d_k] with taps on the sample grid (equal delays merged), unit total power."""
  delays = np.round(np.asarray(delays_s) * sample_rate).astype(int)
  powers = 10 ** (np.asarray(powers_db) / 10)
  merged = {}
  for d, p in zip(delays, powers):
    merged[int(d)] = merged.get(int(d), 0.0) + p
  total = sum(merged.values()) + los_k_linear
  coarse, step = _coarse_gains(rng, len(merged), len(iq), sample_rate, doppler_hz)
  out = np.zeros_like(iq)
  for (d, p), c in zip(sorted(merged.items()), coarse):
    g = _interpolate(c * np.sqrt(p / total), step, len(iq))
    if d:
      out[d:] += g[d:] * iq[:len(iq) - d]
    else:
      out += g * iq
  if los_k_linear:
    phase = rng.uniform(0, 2 * np.pi)
    specular = frequency_shift(np.full(len(iq), np.sqrt(los_k_linear / total) * np.exp(1j * phase),
                                       np.complex64), doppler_hz * np.cos(np.pi / 4), sample_rate)
    out += specular * iq
  return out


def _single_path(iq, sample_rate, rng, doppler_hz, **unused):
  return _apply_taps(iq, [0.0], [0.0], sample_rate, rng, doppler_hz)


def _tdl(iq, sample_rate, rng, doppler_hz, tdl_profile='A', delay_spread_s=100e-9, **unused):
  if tdl_profile not in TDL_PROFILES:
    raise ValueError(f'tdl_profile must be one of {sorted(TDL_PROFILES)}, got {tdl_profile!r}')
  delay_spread_s = waveform_lib.check_positive('delay_spread_s', delay_spread_s)
  profile = TDL_PROFILES[tdl_profile]
  delays = np.asarray(profile.delays) * delay_spread_s
  powers = np.asarray(profile.powers_db)
  if profile.los:  # entry 0: specular LoS part of tap 1 (K = P0 / P1); entries 1..: Rayleigh taps
    return _apply_taps(iq, delays[1:], powers[1:], sample_rate, rng, doppler_hz,
                       los_k_linear=10 ** (powers[0] / 10))
  return _apply_taps(iq, delays, powers, sample_rate, rng, doppler_hz)


def _lte_profile(name):
  def apply(iq, sample_rate, rng, doppler_hz, **unused):
    profile = LTE_PROFILES[name]
    return _apply_taps(iq, profile.delays, profile.powers_db, sample_rate, rng, doppler_hz)
  return apply


CHANNEL_MODELS: dict[str, Callable[..., np.ndarray]] = {
    'none': lambda iq, *args, **kwargs: iq,
    'single_path': _single_path,
    'tdl': _tdl,
    'epa': _lte_profile('epa'),
    'eva': _lte_profile('eva'),
    'etu': _lte_profile('etu'),
}


def add_awgn(iq: np.ndarray, snr_db: float, rng: np.random.Generator, signal_power: float | None = None
             ) -> np.ndarray:
  """Adds complex white Gaussian noise at `snr_db` relative to the measured mean power of `iq`.

  Args:
    iq: signal samples.
    snr_db: requested signal-to-noise ratio over the full sample-rate bandwidth.
    rng: noise source.
    signal_power: reference power; default the measured mean |iq|^2 (MATLAB's awgn 'measured').
  """
  if not np.isfinite(snr_db):
    raise ValueError(f'snr_db must be finite, got {snr_db!r}')
  power = float(np.mean(np.abs(iq) ** 2)) if signal_power is None else signal_power
  noise_power = power / 10 ** (snr_db / 10)
  noise = rng.standard_normal((2, len(iq)), dtype=np.float32)
  return iq + np.float32(np.sqrt(noise_power / 2)) * (noise[0] + 1j * noise[1]).astype(np.complex64)


def frequency_shift(iq: np.ndarray, offset_hz: float, sample_rate: float) -> np.ndarray:
  """Multiplies by exp(j 2π f n / fs), the phase computed in float64 so it stays exact over long frames."""
  if not np.isfinite(offset_hz):
    raise ValueError(f'offset_hz must be finite, got {offset_hz!r}')
  if offset_hz == 0:
    return iq
  cycles = np.mod(np.arange(len(iq), dtype=np.float64) * (offset_hz / sample_rate), 1.0)
  return iq * np.exp(2j * np.pi * cycles).astype(np.complex64)


def apply_channel(iq: np.ndarray, sample_rate: float, *, seed, model: str = 'single_path',
                  doppler_hz: float = 0.0, snr_db: float | None = None, freq_offset_hz: float = 0.0,
                  time_shift_samples: int = 0, **model_kwargs) -> np.ndarray:
  """Fading channel, then frequency offset, circular time shift and AWGN.

  Args:
    iq: complex64 input.
    sample_rate: samples per second.
    seed: seed of the channel and noise draws.
    model: one of CHANNEL_MODELS.
    doppler_hz: maximum Doppler shift.
    snr_db: AWGN SNR relative to the measured power after fading; None adds no noise.
    freq_offset_hz: carrier frequency offset.
    time_shift_samples: circular shift (np.roll).
    **model_kwargs: model options (`tdl_profile`, `delay_spread_s`).

  Returns:
    complex64 samples, same length.
  """
  if model not in CHANNEL_MODELS:
    raise ValueError(f'channel model must be one of {sorted(CHANNEL_MODELS)}, got {model!r}')
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  fading_rng, noise_rng = (np.random.default_rng(s) for s in waveform_lib.seed_sequence(seed).spawn(2))
  out = CHANNEL_MODELS[model](np.asarray(iq, np.complex64), sample_rate, fading_rng, doppler_hz,
                              **model_kwargs)
  out = frequency_shift(out, freq_offset_hz, sample_rate)
  if time_shift_samples:
    out = np.roll(out, int(time_shift_samples))
  if snr_db is not None:
    out = add_awgn(out, snr_db, noise_rng)
  return out.astype(np.complex64)
