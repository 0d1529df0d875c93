"""Propagation channels, AWGN at a measured SNR, carrier frequency offset and time shift.

Fading processes are sums of sinusoids with uniformly random arrival angles and phases, so their ensemble
autocorrelation is exactly the Jakes/Clarke J0(2π f_D τ). Gains are computed on a coarse time grid (far
above the Doppler bandwidth) and linearly interpolated, which keeps a 40 ms frame at 61.44 MHz cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import numpy as np

from specsense_jax import portable_math
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
  t_coarse = np.arange(0, num_samples + 2 * step, step) / sample_rate
  arg = 2 * np.pi * doppler_hz * portable_math.cos(angles)[:, :, None] * t_coarse + phases[:, :, None]
  return portable_math.cis(arg).sum(axis=1) / np.sqrt(_SINUSOIDS), step


def rayleigh_gains(rng: np.random.Generator, num_paths: int, num_samples: int, sample_rate: float,
                   doppler_hz: float) -> np.ndarray:
  """Unit-power Rayleigh fading gains with a Jakes Doppler spectrum, (num_paths, num_samples) complex64."""
  coarse, step = _coarse_gains(rng, num_paths, num_samples, sample_rate, doppler_hz)
  fading = Fading(np.zeros(num_paths, np.int64), coarse.astype(np.complex64), step, sample_rate)
  return np.stack([fading.gains(p, None, num_samples) for p in range(num_paths)])


def phasor(offset_hz: float, sample_rate: float, indices=None, num_samples: int = 0) -> np.ndarray:
  """exp(j 2π f n / fs) at sample indices n (all of 0..num_samples-1 when `indices` is None).

  n = B·q + r splits the phase into two small float64 tables, so the whole frame costs one complex multiply
  per sample and any subset of indices gets exactly the same values.
  """
  if not np.isfinite(offset_hz):
    raise ValueError(f'offset_hz must be finite, got {offset_hz!r}')
  block = 4096
  count = num_samples if indices is None else int(np.max(indices, initial=0)) + 1
  fine = portable_math.cis(2 * np.pi * np.mod(np.arange(block) * (offset_hz / sample_rate), 1.0))
  coarse = portable_math.cis(2 * np.pi * np.mod(np.arange(-(-count // block)) * (block * offset_hz / sample_rate), 1.0))
  if indices is None:
    return portable_math.cmul(coarse[:, None], fine[None, :]).astype(np.complex64).reshape(-1)[:num_samples]
  q, r = np.divmod(np.asarray(indices, np.int64), block)
  return portable_math.cmul(coarse[q], fine[r]).astype(np.complex64)


@dataclasses.dataclass
class Fading:
  """A realized tapped-delay-line channel: y[n] = Σ_k g_k[n] x[n - d_k] (+ LoS), unit mean power gain.

  Gains are stored on a coarse grid (`step` samples apart) and linearly interpolated; `apply` (whole signal)
  and `apply_at` (chosen samples) evaluate the same arithmetic and give the same values.
  """
  delays: np.ndarray  # (P,) int samples
  coarse: np.ndarray  # (P, M) complex64, tap power included
  step: int
  sample_rate: float
  los_amplitude: complex = 0j
  los_doppler_hz: float = 0.0

  @functools.cached_property
  def _slopes(self) -> np.ndarray:
    return self.coarse[:, 1:] - self.coarse[:, :-1]

  def gains(self, path: int, indices=None, num_samples: int = 0) -> np.ndarray:
    c = self.coarse[path]
    frac = (np.arange(self.step) / self.step).astype(np.float32)
    if indices is None:
      fine = c[:-1, None] + self._slopes[path][:, None] * frac[None, :]
      return fine.reshape(-1)[:num_samples]
    i, r = np.divmod(np.asarray(indices, np.int64), self.step)
    return c[i] + self._slopes[path][i] * frac[r]

  def apply(self, iq: np.ndarray) -> np.ndarray:
    n = len(iq)
    out = np.zeros_like(iq)
    for p, d in enumerate(self.delays):
      g = self.gains(p, None, n)
      if d:
        out[d:] += portable_math.cmul(g[d:], iq[:n - d])
      else:
        out += portable_math.cmul(g, iq)
    if self.los_amplitude:
      out += portable_math.cmul(self._los(None, n), iq)
    return out

  def apply_at(self, render, indices: np.ndarray) -> np.ndarray:
    """Output at `indices`, given render(idx) -> input samples (0 before the start).

    Each run of consecutive indices renders its input once, from the longest delay before it on: work in
    proportion to the indices asked for, however far apart the runs lie.
    """
    shape = np.shape(indices)
    indices = np.asarray(indices, np.int64).reshape(-1)
    if len(self.delays) == 1 and self.delays[0] == 0:
      x = render(indices)
      out = portable_math.cmul(self.gains(0, indices), x)
    else:
      longest = int(self.delays.max())
      breaks = np.flatnonzero(np.diff(indices) != 1) + 1
      run_starts = np.concatenate([[0], breaks]).astype(np.int64)
      run_counts = np.diff(np.concatenate([run_starts, [len(indices)]]))
      counts = run_counts + longest
      offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)  # each run's place in x
      needed = np.repeat(indices[run_starts] - longest - offsets, counts) + np.arange(int(counts.sum()))
      x = np.zeros(len(needed), np.complex64)
      x[needed >= 0] = render(needed[needed >= 0])
      here = np.repeat(offsets + longest - run_starts, run_counts) + np.arange(len(indices))  # index k's place
      step_index, remainder = np.divmod(indices, self.step)
      frac = (np.arange(self.step) / self.step).astype(np.float32)[remainder]
      out = np.zeros(indices.shape, np.complex64)
      gain, term = np.empty_like(out), np.empty_like(out)
      where = np.empty_like(here)
      for p, d in enumerate(self.delays):  # the arithmetic of `gains` (its divisions shared), in fixed buffers
        np.take(self.coarse[p], step_index, out=gain)
        np.take(self._slopes[p], step_index, out=term)
        gain += np.multiply(term, frac, out=term)
        np.take(x, np.subtract(here, d, out=where), out=term)
        out += portable_math.cmul(gain, term, out=gain)
      x = x[here]
    if self.los_amplitude:
      out += portable_math.cmul(self._los(indices), x)
    return out.reshape(shape)

  def _los(self, indices, num_samples=0):
    return portable_math.cmul(np.complex64(self.los_amplitude),
                              phasor(self.los_doppler_hz, self.sample_rate, indices, num_samples))

  def mean_power_gain(self, indices) -> np.ndarray:
    """Σ_k |g_k|^2 (+ |LoS|^2) at the given samples: the expected power gain there."""
    total = sum(portable_math.abs2(self.gains(p, indices)) for p in range(len(self.delays)))
    return total + float(portable_math.abs2(self.los_amplitude))  # not abs() ** 2: libm hypot and pow vary by CPU


def _taps(delays_s, powers_db, sample_rate, los_k_linear=0.0):
  """Taps on the sample grid (equal delays merged), normalized with the LoS part to unit total power."""
  delays = np.round(np.asarray(delays_s) * sample_rate).astype(np.int64)
  merged = {}
  for d, p in zip(delays, portable_math.db_to_power(np.asarray(powers_db, np.float64))):
    merged[int(d)] = merged.get(int(d), 0.0) + p
  total = sum(merged.values()) + los_k_linear
  return np.array(sorted(merged)), np.array([merged[d] for d in sorted(merged)]) / total, los_k_linear / total


def _single_path_profile(**unused):
  return [0.0], [0.0], 0.0


def _tdl_profile(tdl_profile='A', delay_spread_s=100e-9, **unused):
  if tdl_profile not in TDL_PROFILES:
    raise ValueError(f'tdl_profile must be one of {sorted(TDL_PROFILES)}, got {tdl_profile!r}')
  delay_spread_s = waveform_lib.check_positive('delay_spread_s', delay_spread_s)
  profile = TDL_PROFILES[tdl_profile]
  delays = np.asarray(profile.delays) * delay_spread_s
  powers = np.asarray(profile.powers_db)
  if profile.los:  # entry 0: specular LoS part of tap 1 (K = P0 / P1); entries 1..: Rayleigh taps
    return delays[1:], powers[1:], portable_math.db_to_power(powers[0])
  return delays, powers, 0.0


def _lte_profile(name):
  return lambda **unused: (LTE_PROFILES[name].delays, LTE_PROFILES[name].powers_db, 0.0)


# Each model gives (delays in seconds, powers in dB, LoS power) of its Rayleigh taps.
_PROFILE_BUILDERS = {
    'single_path': _single_path_profile,
    'tdl': _tdl_profile,
    'epa': _lte_profile('epa'),
    'eva': _lte_profile('eva'),
    'etu': _lte_profile('etu'),
}
CHANNEL_MODELS = ('none',) + tuple(_PROFILE_BUILDERS)


def make_fading(model: str, sample_rate: float, num_samples: int, rng: np.random.Generator,
                doppler_hz: float = 0.0, **model_kwargs) -> Fading:
  """Realizes a channel model over `num_samples` samples ('none' is a unit gain)."""
  if model not in CHANNEL_MODELS:
    raise ValueError(f'channel model must be one of {sorted(CHANNEL_MODELS)}, got {model!r}')
  if model == 'none':
    return Fading(np.zeros(1, np.int64), np.ones((1, 3), np.complex64), max(1, num_samples), sample_rate)
  delays_s, powers_db, los = _PROFILE_BUILDERS[model](**model_kwargs)
  delays, powers, los = _taps(delays_s, powers_db, sample_rate, los)
  coarse, step = _coarse_gains(rng, len(delays), num_samples, sample_rate, doppler_hz)
  coarse = (coarse * np.sqrt(powers)[:, None]).astype(np.complex64)
  los_amplitude = complex(np.sqrt(los) * portable_math.cis(rng.uniform(0, 2 * np.pi))) if los else 0j
  return Fading(delays, coarse, step, sample_rate, los_amplitude, doppler_hz * np.sqrt(0.5))  # cos(pi/4)


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
  power = float(np.mean(portable_math.abs2(iq))) if signal_power is None else signal_power
  noise_power = power / portable_math.db_to_power(snr_db)
  noise = rng.standard_normal((2, len(iq)), dtype=np.float32)
  return iq + np.float32(np.sqrt(noise_power / 2)) * (noise[0] + 1j * noise[1]).astype(np.complex64)


class SpectrumCut:
  """One FFT of a recording's head (its DC offset removed), from which the band around any centre is cut as a
  baseband signal: a brick-wall channel filter and a resampling in one inverse FFT of the kept bins. Searches
  that try many candidate centres pay one large FFT instead of a shift and resampling each."""

  def __init__(self, iq: np.ndarray, sample_rate: float, num_samples: int):
    head = np.asarray(iq[:num_samples], np.complex128)
    self.spectrum = np.fft.fft(head - head.mean())
    self.bin_hz = sample_rate / len(head)

  def cut(self, offset_hz: float, rate: float) -> np.ndarray:
    """complex64 samples at `rate` (rounded to whole bins) of the band `rate` wide centred `offset_hz` from the
    capture centre, at the input's amplitude."""
    width = int(round(rate / self.bin_hz))
    k = int(round(offset_hz / self.bin_hz)) + np.fft.fftfreq(width, 1 / width).astype(np.int64)
    return (np.fft.ifft(self.spectrum[k % len(self.spectrum)]) * (width / len(self.spectrum))).astype(np.complex64)


def frequency_shift(iq: np.ndarray, offset_hz: float, sample_rate: float) -> np.ndarray:
  """Multiplies by exp(j 2π f n / fs), exact in phase over long frames (see `phasor`)."""
  if offset_hz == 0:
    return iq
  return portable_math.cmul(iq, phasor(offset_hz, sample_rate, None, len(iq)))


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
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  fading_rng, noise_rng = (np.random.default_rng(s) for s in waveform_lib.seed_sequence(seed).spawn(2))
  iq = np.asarray(iq, np.complex64)
  out = make_fading(model, sample_rate, len(iq), fading_rng, doppler_hz, **model_kwargs).apply(iq)
  out = frequency_shift(out, freq_offset_hz, sample_rate)
  if time_shift_samples:
    out = np.roll(out, int(time_shift_samples))
  if snr_db is not None:
    out = add_awgn(out, snr_db, noise_rng)
  return out.astype(np.complex64)
