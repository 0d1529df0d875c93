"""A receiver (`receiver.ReceiverParams`) evaluated at chosen capture samples, equal to the same part of the whole.

The steps run in a receiver's order. At the synthesis rate, per sample: the LO frequency error and phase noise, the
quadrature mixer's IQ imbalance, the DC/LO leakage (optionally decaying); then the baseband gain shape (tilt and
ripple) as a short FIR, the anti-alias low-pass and the rational resampling to the capture rate, the two filters
evaluated as one (`polyphase.cascade`), where the sample-clock error moves each capture sample to its true instant on
a fine grid; the fixed spurs (clock harmonics, coupled in after the filter, so that those near the band edge stay
whole); the AGC's gain and the ADC (quantization with clipping) follow. Every step is a function of absolute
sample indices (phase noise is a Wiener process on a coarse grid of counter-based increments) or a FIR evaluated by
`polyphase`, so a window of a capture, rendered from the few synthesis samples it needs, has the bytes of the whole
capture there: a dataset pays for the ~5 % of a frame its spectrogram reads, and still matches a recording written
whole.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import scipy.signal

from specsense_jax import portable_math
from specsense_jax.signals import counter_rng
from specsense_jax.signals import polyphase
from specsense_jax.signals import receiver
from specsense_jax.signals import waveform as waveform_lib

CLOCK_GRID = 64  # sample-clock offsets move capture samples in steps of 1/(64·up) synthesis samples
PHASE_NOISE_BLOCK = 64  # synthesis samples per Wiener increment (linear in between)
RESPONSE_TAPS = 65  # FIR of the baseband gain shape (tilt and ripple)
ANTI_ALIAS_STOPBAND_DB = 60.0  # below what an 8-bit capture resolves; longer filters cost synthesis samples
AGC_PROBES = 8  # windows of AGC_PROBE_LEN capture samples spread over the capture: the AGC settles on them
AGC_PROBE_LEN = 128


def estimate_noise_power(iq: np.ndarray, sample_rate: float) -> float:
  """Noise power over the full band from the quietest bins of a Welch PSD (needs some noise-only spectrum)."""
  _, psd = scipy.signal.welch(iq, fs=sample_rate, nperseg=min(1024, len(iq)), return_onesided=False, detrend=False)
  return float(np.percentile(psd, 10) * sample_rate)


def _agc_gain(y: np.ndarray, backoff_db: float) -> float:
  """The linear gain that puts the RMS of `y` `backoff_db` below full scale (1.0 for silence)."""
  rms = math.sqrt(float(np.mean(portable_math.abs2(y.astype(np.complex128)))))
  return portable_math.db_to_amplitude(-backoff_db) / rms if rms > 0 else 1.0


@functools.lru_cache(maxsize=32)
def _response_filter(sample_rate: float, capture_rate: float, tilt_db: float, ripple_db: float,
                     ripple_cycles: float, ripple_phase: float) -> polyphase.Interpolator:
  """Complex FIR whose response is the gain shape in dB (`ReceiverParams.response_db`), by frequency sampling."""
  params = receiver.ReceiverParams(capture_rate=capture_rate, tilt_db=tilt_db, ripple_db=ripple_db,
                                   ripple_cycles=ripple_cycles, ripple_phase=ripple_phase)
  grid = 4096
  freqs = np.fft.fftfreq(grid, 1 / sample_rate)
  impulse = np.fft.ifft(portable_math.db_to_amplitude(params.response_db(freqs)))
  half = RESPONSE_TAPS // 2
  taps = np.concatenate([impulse[-half:], impulse[:half + 1]]) * portable_math.kaiser(RESPONSE_TAPS, 6.0)
  taps = portable_math.cmul(taps / np.sum(taps), portable_math.db_to_amplitude(params.response_db(0.0)))
  taps = taps.astype(np.complex64)
  taps.flags.writeable = False
  return polyphase.Interpolator(taps, 1)


class ReceiverChain:
  """A receiver over a synthesis-rate source, read at any capture samples.

  Args:
    source: indices -> complex samples at `sample_rate` (indices in [0, num_input)), e.g. `ComposedFrame.render`.
    num_input: length of the source.
    sample_rate: the source's rate.
    params: the receiver.
    input_power: mean power of the source (signal + noise): the DC leakage's reference.
    noise_power: the white noise's power over the source's band: the spurs' reference.
    agc_gain: the AGC's linear gain; None: settled on the capture's probe windows.
    agc_windows: (capture samples) -> (window starts, window length): where the AGC settles; default
      `AGC_PROBES` windows of `AGC_PROBE_LEN` spread over the capture. Reading exactly these windows again reuses
      them (a synthetic capture probes where the frames path measures the noise floor, and renders them once).
  """

  def __init__(self, source: Callable[[np.ndarray], np.ndarray], num_input: int, sample_rate: float,
               params: receiver.ReceiverParams, *, input_power: float, noise_power: float,
               agc_gain: float | None = None,
               agc_windows: Callable[[int], tuple[np.ndarray, int]] | None = None):
    self.params = params.validate()
    self.sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
    self._source, self.num_input = source, int(num_input)
    try:
      self.ratio = polyphase.rate_ratio(params.capture_rate, sample_rate)
    except ValueError as e:
      raise ValueError(f'params.capture_rate: {e}') from None
    if self.ratio > 1:
      raise ValueError(f'params.capture_rate {params.capture_rate:g} must not exceed sample_rate {sample_rate:g}')
    up, down = self.ratio.numerator, self.ratio.denominator
    self.num_samples = self.num_input * up // down
    self._fine = CLOCK_GRID if params.clock_ppm else 1
    response = None
    if params.tilt_db or params.ripple_db:
      response = _response_filter(self.sample_rate, params.capture_rate, params.tilt_db, params.ripple_db,
                                  params.ripple_cycles, params.ripple_phase)
    self._lowpass = self._response = None
    if self.ratio != 1 or params.clock_ppm:
      lowpass = polyphase.kaiser_lowpass(up * self._fine, 0.5 * float(self.ratio),
                                         (1 - params.passband) * float(self.ratio), ANTI_ALIAS_STOPBAND_DB)
      # Both filters are linear and time-invariant: one filter does both, at a third of the multiplies.
      self._lowpass = lowpass if response is None else polyphase.cascade(response, lowpass)
    else:
      self._response = response
    self._dc = (math.sqrt(input_power * portable_math.db_to_power(params.dc_leak_dbc))
                if params.dc_leak_dbc is not None else 0.0)
    column_noise = noise_power / self.sample_rate * params.capture_rate / receiver.REFERENCE_COLUMNS
    self._spurs = [(f, math.sqrt(column_noise * portable_math.db_to_power(level)), ph)
                   for f, level, ph in zip(params.spur_offsets_hz, params.spur_levels_db, params.spur_phases)]
    self._probe = None  # (starts, length, analog samples) of the AGC's windows
    self.gain = self._settle_agc(agc_windows or _spread_windows) if agc_gain is None else float(agc_gain)

  # -- the analog chain at the synthesis rate, per absolute sample index --------------------------------------
  @functools.cached_property
  def _wiener(self) -> np.ndarray:
    """Phase (rad) at each block start of a Wiener process with L(10 kHz) = phase_noise_dbc_hz, block increments
    from a counter-based generator (so any sample's phase needs no other draw than its blocks')."""
    # L(f) = D / (4π² f²) for a random walk of diffusion D rad²/s, so D = 4π²·(10 kHz)²·10^(L/10).
    offset = 2 * np.pi * receiver.PHASE_NOISE_OFFSET_HZ
    diffusion = offset * offset * portable_math.db_to_power(self.params.phase_noise_dbc_hz)
    blocks = self.num_input // PHASE_NOISE_BLOCK + 2
    steps = counter_rng.complex_normal(self.params.seed % 2**63, np.arange(blocks)).real.astype(np.float64)
    steps *= math.sqrt(2 * diffusion * PHASE_NOISE_BLOCK / self.sample_rate)  # the real part has variance 1/2
    return np.concatenate([[0.0], np.cumsum(steps)])

  def _analog(self, m: np.ndarray) -> np.ndarray:
    """complex64 analog-chain output at synthesis indices `m` (zero outside the source)."""
    p = self.params
    inside = (m >= 0) & (m < self.num_input)
    x = np.zeros(m.shape, np.complex64)
    x[inside] = self._source(m[inside])
    t = m.astype(np.float64) / self.sample_rate
    phase = -2 * np.pi * p.lo_ppm * 1e-6 * p.carrier_hz * t
    if p.phase_noise_dbc_hz is not None:
      block, frac = np.divmod(np.clip(m, 0, self.num_input - 1), PHASE_NOISE_BLOCK)
      wiener = self._wiener
      phase = phase + wiener[block] + (wiener[block + 1] - wiener[block]) * (frac / PHASE_NOISE_BLOCK)
    if p.lo_ppm or p.phase_noise_dbc_hz is not None:
      x = portable_math.cmul(x, portable_math.cis(phase, np.complex64))
    if p.iq_gain != 1 or p.iq_phase:  # the Q branch has gain g and phase error φ: image K2·conj(x)
      sin, cos = portable_math.sincos(p.iq_phase)
      image = np.float32(p.iq_gain) * (x.imag * np.float32(cos) - x.real * np.float32(sin))
      imbalanced = np.empty(x.shape, np.complex64)
      imbalanced.real, imbalanced.imag = x.real, image
      x = imbalanced
    if self._dc:  # LO leakage self-mixes to DC, decaying as a USRP's DC-offset loop settles
      envelope = 1.0 if p.dc_decay_s is None else portable_math.exp(-t / p.dc_decay_s)
      x = x + (portable_math.cis(p.dc_phase) * (self._dc * envelope)).astype(np.complex64)  # a real factor
    return np.where(inside, x, np.complex64(0))

  # -- windows ---------------------------------------------------------------------------------------------------
  def _positions(self, k: np.ndarray) -> np.ndarray:
    """Grid positions (synthesis index · up · fine) of capture samples k: sample k is taken at true time
    k / (capture_rate·(1 + ε)), rounded to the fine grid."""
    scale = self.ratio.denominator * self._fine
    if not self.params.clock_ppm:
      return k * scale
    return np.round(k * (scale / (1 + self.params.clock_ppm * 1e-6))).astype(np.int64)

  def analog_capture(self, windows: np.ndarray) -> np.ndarray:
    """complex64 (W, L) capture samples before the AGC and ADC at `windows` (W, L) of contiguous capture indices."""
    windows = np.asarray(windows, np.int64)
    rows, length = windows.shape
    if self._lowpass is None:
      margin = RESPONSE_TAPS // 2 if self._response is not None else 0
      lo, hi = windows[:, 0] - margin, windows[:, 0] + length + margin
    else:
      positions = self._positions(windows)
      lo, hi = self._lowpass.input_spans(positions)
    # One call to the source for every window's synthesis samples, window after window.
    counts = hi - lo
    x_start = lo - np.concatenate([[0], np.cumsum(counts)[:-1]])  # each window's input index of its x[0]
    x = self._analog(np.repeat(x_start, counts) + np.arange(int(counts.sum())))
    if self._lowpass is None and self._response is None:
      y = x.reshape(rows, length)
    elif self._lowpass is None:
      y = self._response.at(x, np.repeat(x_start, length), windows.ravel()).reshape(rows, length)
    else:
      y = self._lowpass.at(x, np.repeat(x_start, length), positions.ravel()).reshape(rows, length)
    if self._spurs:  # clock harmonics coupled in after the filter: spurs near the band edges stay whole
      t = windows / self.params.capture_rate
      tones = sum(amplitude * portable_math.cis(2 * np.pi * f * t + ph) for f, amplitude, ph in self._spurs)
      y = y + tones.astype(np.complex64)
    return y

  def _settle_agc(self, windows: Callable[[int], tuple[np.ndarray, int]]) -> float:
    starts, length = windows(self.num_samples)
    starts = np.asarray(starts, np.int64)
    y = self.analog_capture(starts[:, None] + np.arange(length))
    self._probe = (starts, int(length), y)
    return _agc_gain(y, self.params.agc_backoff_db)

  def read_windows(self, starts: np.ndarray, length: int) -> np.ndarray:
    """complex64 (len(starts), length): captured samples (AGC and ADC applied) [s, s + length) for each start."""
    starts = np.asarray(starts, np.int64)
    if starts.size and (starts.min() < 0 or starts.max() + length > self.num_samples):
      raise ValueError(f'capture windows must lie in [0, {self.num_samples}), got starts {starts.min()}..'
                       f'{starts.max()} of length {length}')
    if self._probe is not None and length == self._probe[1] and np.array_equal(starts, self._probe[0]):
      y = self._probe[2]
    else:
      y = self.analog_capture(starts[:, None] + np.arange(length))
    return receiver.quantize(y * np.float32(self.gain), self.params.adc_bits)


def _spread_windows(num_samples: int) -> tuple[np.ndarray, int]:
  length = min(AGC_PROBE_LEN, num_samples)
  return np.unique(np.linspace(0, num_samples - length, AGC_PROBES).astype(np.int64)), length


def apply(iq: np.ndarray, sample_rate: float, params: receiver.ReceiverParams,
          noise_power: float | None = None) -> tuple[np.ndarray, float]:
  """Passes a whole frame (signal + noise) through the receiver; the AGC settles on the whole capture.

  Args:
    iq: 1-D complex samples at `sample_rate`, after the channel noise.
    sample_rate: their rate; capture_rate / sample_rate must be a ratio of integers below 1000, at most 1.
    params: the receiver (`ReceiverConfig.draw`).
    noise_power: power of the white noise in `iq` over the full band (the spurs' reference); None: estimated
      from the quietest bins (`estimate_noise_power`).

  Returns:
    (complex64 samples at the capture rate, full scale 1.0 per rail; the capture rate). The length is
    floor(len(iq)·capture_rate/sample_rate).
  """
  x = np.asarray(iq)
  if x.ndim != 1 or not len(x):
    raise ValueError(f'iq must be a non-empty 1-D array, got shape {x.shape}')
  x = x.astype(np.complex64)
  if noise_power is None:
    noise_power = estimate_noise_power(x, sample_rate)
  chain = ReceiverChain(lambda m: x[m], len(x), sample_rate, params, agc_gain=1.0,
                        input_power=float(np.mean(portable_math.abs2(x.astype(np.complex128)))),
                        noise_power=noise_power)
  y = chain.analog_capture(np.arange(chain.num_samples)[None, :])[0]
  gain = _agc_gain(y, params.agc_backoff_db)
  return receiver.quantize(y * np.float32(gain), params.adc_bits), float(params.capture_rate)
