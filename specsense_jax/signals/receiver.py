"""Receiver impairments of a synthetic capture: what a real SDR front end does to a frame after the channel noise.

`ReceiverConfig` holds the ranges a receiver is drawn from, `draw` makes one concrete `ReceiverParams` (JSON-able),
and `receiver_chain` applies it in a receiver's order: the analog chain at the synthesis rate (LO error and phase
noise, IQ imbalance, DC/LO leakage, gain ripple), then the anti-alias filter and decimation to the capture rate with
the sample-clock offset, the fixed spurs, the AGC and the ADC (quantization with clipping). The output is complex64
at the capture rate with full scale 1.0 on each rail, as int8 HackRF samples read as x/128.

Levels, as the real captures in ../shared/realdata show them: HackRF band-3/39 captures have a DC/LO spur ~20-22 dB
over the noise floor and fixed spurs near +-9.3 MHz 13-17 dB over it (in uplink gaps too); a USRP n78 capture has a
near-DC spur ~60 dB over the floor that decays over the capture. Tone levels over the noise floor are given in one
column of a `REFERENCE_COLUMNS`-wide spectrogram of the capture, the way those numbers were read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.optimize

from specsense_jax import portable_math
from specsense_jax.signals import waveform as waveform_lib

CAPTURE_RATES = (15.36e6, 19.2e6, 23.04e6, 30.72e6, 46.08e6, 61.44e6)
ADC_BITS = (8, 12, 14, 16)
REFERENCE_COLUMNS = 128  # tone levels over the noise floor are per column of a 128-wide spectrogram
PHASE_NOISE_OFFSET_HZ = 10e3  # phase-noise levels are L(f) in dBc/Hz at this offset


@dataclasses.dataclass(frozen=True)
class ReceiverParams:
  """One concrete receiver; the defaults are an ideal one (no impairment but the ADC).

  Attributes:
    capture_rate: nominal output sample rate (what the capture's header says).
    kind: name of the preset family member drawn ('' for a plain config).
    adc_bits: ADC resolution; full scale is +-1.0 on each rail.
    agc_backoff_db: RMS of the captured samples below the full-scale complex sine (|x| = 1).
    passband: anti-alias passband as a fraction of the capture rate (two-sided).
    dc_leak_dbc: DC/LO leakage power at t = 0 relative to the input's mean power (signal + noise); None: none.
    dc_phase: phase of the leakage (rad).
    dc_decay_s: exponential decay time constant of the leakage amplitude; None: constant.
    iq_gain: Q-branch amplitude relative to I (1 = balanced).
    iq_phase: Q-branch phase error (rad).
    spur_offsets_hz: frequencies of fixed spurs relative to the centre.
    spur_levels_db: their levels over the noise floor (one `REFERENCE_COLUMNS` column of the capture).
    spur_phases: their phases (rad).
    tilt_db: gain change across the captured band, lower edge to upper edge (linear in frequency).
    ripple_db: peak amplitude of a sinusoidal gain ripple across the captured band.
    ripple_cycles: ripple periods across the captured band.
    ripple_phase: ripple phase (rad).
    carrier_hz: RF carrier frequency, which scales the LO error.
    lo_ppm: LO frequency error; a tone at f is received at f - lo_ppm·1e-6·carrier_hz.
    clock_ppm: sample-clock error; the ADC samples at capture_rate·(1 + clock_ppm·1e-6).
    phase_noise_dbc_hz: L(10 kHz) of a Wiener (1/f^2) phase noise; None: none.
    seed: seed of the phase-noise process.
  """
  capture_rate: float
  kind: str = ''
  adc_bits: int = 16
  agc_backoff_db: float = 12.0
  passband: float = 0.8
  dc_leak_dbc: float | None = None
  dc_phase: float = 0.0
  dc_decay_s: float | None = None
  iq_gain: float = 1.0
  iq_phase: float = 0.0
  spur_offsets_hz: tuple[float, ...] = ()
  spur_levels_db: tuple[float, ...] = ()
  spur_phases: tuple[float, ...] = ()
  tilt_db: float = 0.0
  ripple_db: float = 0.0
  ripple_cycles: float = 1.0
  ripple_phase: float = 0.0
  carrier_hz: float = 3.5e9
  lo_ppm: float = 0.0
  clock_ppm: float = 0.0
  phase_noise_dbc_hz: float | None = None
  seed: int = 0

  def to_dict(self) -> dict[str, Any]:
    """JSON-able dict (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> 'ReceiverParams':
    """Inverse of `to_dict`."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

  def image_rejection_db(self) -> float:
    """IRR of the IQ imbalance, 10·log10(|K1|²/|K2|²) with K1 = (1 + g e^-jφ)/2, K2 = (1 - g e^jφ)/2."""
    return _irr_db(self.iq_gain, self.iq_phase)

  def response_db(self, freqs_hz) -> np.ndarray:
    """Analog gain shape (tilt + ripple) in dB at baseband frequencies, held at the captured band's edges."""
    u = np.clip(np.asarray(freqs_hz, np.float64) / self.capture_rate, -0.5, 0.5)  # -0.5..0.5 across the band
    return self.tilt_db * u + self.ripple_db * portable_math.sin(2 * np.pi * self.ripple_cycles * u + self.ripple_phase)

  def validate(self) -> 'ReceiverParams':
    """Raises ValueError naming the first bad field; returns self."""
    waveform_lib.check_positive('capture_rate', self.capture_rate)
    if self.adc_bits not in ADC_BITS:
      raise ValueError(f'adc_bits must be one of {ADC_BITS}, got {self.adc_bits!r}')
    if not 0 < self.passband < 1:
      raise ValueError(f'passband must be a fraction of the capture rate in (0, 1), got {self.passband!r}')
    n = len(self.spur_offsets_hz)
    if len(self.spur_levels_db) != n or len(self.spur_phases) != n:
      raise ValueError('spur_offsets_hz, spur_levels_db and spur_phases must have the same length')
    waveform_lib.check_positive('iq_gain', self.iq_gain)
    if self.dc_decay_s is not None:
      waveform_lib.check_positive('dc_decay_s', self.dc_decay_s)
    waveform_lib.check_positive('carrier_hz', self.carrier_hz)
    return self


def _irr_db(g: float, phi: float) -> float:
  cos = float(portable_math.cos(phi))
  return portable_math.power_to_db((1 + 2 * g * cos + g * g) / (1 - 2 * g * cos + g * g))


@dataclasses.dataclass(frozen=True)
class ReceiverConfig:
  """Ranges a receiver is drawn from ((min, max) pairs uniform unless noted).

  Attributes:
    kinds: weighted ((name, weight), ...) members of `KINDS`: a draw picks one, whose overrides replace the fields
      left at their defaults here (fields set to other values win); empty: draw from these fields.
    capture_rates: nominal capture rates, drawn uniformly.
    adc_bits: ADC resolutions, drawn uniformly.
    agc_backoff_db: RMS back-off below full scale the AGC aims at.
    passband: anti-alias passband, fraction of the capture rate.
    dc_leak_dbc: DC/LO leakage relative to the input power.
    dc_decay_s: None (constant leakage) or a log-uniform range of decay time constants.
    iq_image_rejection_db: image rejection the amplitude/phase imbalance gives.
    num_spurs: (min, max) number of fixed spurs, inclusive.
    spur_offsets: |offset| of a spur as a fraction of the capture rate, sign drawn; below 0.5.
    spur_levels_db: spur level over the noise floor (one `REFERENCE_COLUMNS` column).
    gain_tilt_db: tilt across the captured band.
    ripple_db: ripple peak amplitude.
    ripple_cycles: ripple periods across the captured band.
    carrier_hz: RF carrier frequency.
    lo_error_ppm: LO frequency error.
    sample_clock_ppm: sample-clock error.
    phase_noise_dbc_hz: L(10 kHz) range; None: no phase noise.
  """
  kinds: tuple = ()
  capture_rates: tuple[float, ...] = CAPTURE_RATES
  adc_bits: tuple[int, ...] = ADC_BITS
  agc_backoff_db: tuple[float, float] = (8.0, 20.0)
  passband: float = 0.8
  dc_leak_dbc: tuple[float, float] = (-50.0, -5.0)
  dc_decay_s: tuple[float, float] | None = None
  iq_image_rejection_db: tuple[float, float] = (25.0, 45.0)
  num_spurs: tuple[int, int] = (1, 3)
  spur_offsets: tuple[float, float] = (0.02, 0.4)
  spur_levels_db: tuple[float, float] = (5.0, 25.0)
  gain_tilt_db: tuple[float, float] = (-3.0, 3.0)
  ripple_db: tuple[float, float] = (0.0, 3.0)
  ripple_cycles: tuple[float, float] = (0.5, 3.0)
  carrier_hz: tuple[float, float] = (0.6e9, 6e9)
  lo_error_ppm: tuple[float, float] = (-2.0, 2.0)
  sample_clock_ppm: tuple[float, float] = (-2.0, 2.0)
  phase_noise_dbc_hz: tuple[float, float] | None = (-100.0, -80.0)

  @classmethod
  def realistic(cls, **overrides) -> 'ReceiverConfig':
    """HackRF-like and USRP-like receivers in one drawn family (`KINDS`)."""
    return cls(**{'kinds': (('hackrf', 0.5), ('usrp', 0.5)), **overrides}).validate()

  def validate(self) -> 'ReceiverConfig':
    """Raises ValueError naming the first bad field; returns self."""
    for name, weight in _pairs(self.kinds):
      if name not in KINDS:
        raise ValueError(f'kinds: {name!r} is not one of {sorted(KINDS)}')
      if not weight >= 0:
        raise ValueError(f'kinds: weight of {name!r} must be >= 0, got {weight!r}')
    if self.kinds and not sum(w for _, w in _pairs(self.kinds)) > 0:
      raise ValueError(f'kinds: the weights must not all be zero, got {self.kinds!r}')
    if not self.capture_rates or not all(isinstance(r, (int, float)) and r > 0 for r in self.capture_rates):
      raise ValueError(f'capture_rates must be a non-empty tuple of positive rates, got {self.capture_rates!r}')
    if not self.adc_bits or any(b not in ADC_BITS for b in self.adc_bits):
      raise ValueError(f'adc_bits must be a non-empty subset of {ADC_BITS}, got {self.adc_bits!r}')
    if not 0 < self.passband < 1:
      raise ValueError(f'passband must be a fraction of the capture rate in (0, 1), got {self.passband!r}')
    for name, low, high in _RANGES:
      waveform_lib.check_range(name, getattr(self, name), low, high)
    if self.dc_decay_s is not None:
      waveform_lib.check_range('dc_decay_s', self.dc_decay_s, 1e-6, 10.0)
    if self.phase_noise_dbc_hz is not None:
      waveform_lib.check_range('phase_noise_dbc_hz', self.phase_noise_dbc_hz, -200.0, -40.0)
    lo, hi = self.num_spurs
    if int(lo) != lo or int(hi) != hi or not 0 <= lo <= hi <= 10:
      raise ValueError(f'num_spurs must be integers 0 <= min <= max <= 10, got {self.num_spurs!r}')
    if self.spur_offsets[1] >= 0.5:
      raise ValueError(f'spur_offsets must stay below the capture\'s Nyquist frequency (< 0.5), got '
                       f'{self.spur_offsets!r}')
    return self

  def draw(self, rng: np.random.Generator) -> ReceiverParams:
    """One concrete receiver drawn from the ranges (a `KINDS` member first when `kinds` is set)."""
    self.validate()
    config, kind = self, ''
    if self.kinds:
      pairs = _pairs(self.kinds)
      weights = np.array([w for _, w in pairs], float)
      kind = pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))][0]
      explicit = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name != 'kinds' and getattr(self, f.name) != f.default}  # set by the caller: they win
      config = dataclasses.replace(self, **{**KINDS[kind], **explicit, 'kinds': ()}).validate()
    return config._draw(rng, kind)

  def _draw(self, rng: np.random.Generator, kind: str) -> ReceiverParams:
    uniform = lambda r: float(rng.uniform(*r))  # pylint: disable=unnecessary-lambda-assignment
    rate = float(self.capture_rates[int(rng.integers(len(self.capture_rates)))])
    num_spurs = int(rng.integers(self.num_spurs[0], self.num_spurs[1] + 1))
    offsets = rng.uniform(*self.spur_offsets, num_spurs) * rng.choice((-1.0, 1.0), num_spurs) * rate
    g, phi = _imbalance_for(uniform(self.iq_image_rejection_db), float(rng.uniform(0, 2 * np.pi)))
    decay = None if self.dc_decay_s is None else portable_math.log_uniform(rng, *self.dc_decay_s)
    pn = None if self.phase_noise_dbc_hz is None else uniform(self.phase_noise_dbc_hz)
    return ReceiverParams(
        capture_rate=rate, kind=kind, adc_bits=int(self.adc_bits[int(rng.integers(len(self.adc_bits)))]),
        agc_backoff_db=uniform(self.agc_backoff_db), passband=float(self.passband),
        dc_leak_dbc=uniform(self.dc_leak_dbc), dc_phase=float(rng.uniform(0, 2 * np.pi)), dc_decay_s=decay,
        iq_gain=g, iq_phase=phi, spur_offsets_hz=tuple(float(f) for f in offsets),
        spur_levels_db=tuple(float(v) for v in rng.uniform(*self.spur_levels_db, num_spurs)),
        spur_phases=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, num_spurs)),
        tilt_db=uniform(self.gain_tilt_db), ripple_db=uniform(self.ripple_db),
        ripple_cycles=uniform(self.ripple_cycles), ripple_phase=float(rng.uniform(0, 2 * np.pi)),
        carrier_hz=uniform(self.carrier_hz), lo_ppm=uniform(self.lo_error_ppm),
        clock_ppm=uniform(self.sample_clock_ppm), phase_noise_dbc_hz=pn, seed=int(rng.integers(2**63)))


_RANGES = (('agc_backoff_db', 0.0, 60.0), ('dc_leak_dbc', -100.0, 40.0), ('iq_image_rejection_db', 10.0, 100.0),
           ('spur_offsets', 0.0, 0.5), ('spur_levels_db', -20.0, 80.0), ('gain_tilt_db', -10.0, 10.0),
           ('ripple_db', 0.0, 10.0), ('ripple_cycles', 0.0, 20.0), ('carrier_hz', 1e6, 1e11),
           ('lo_error_ppm', -100.0, 100.0), ('sample_clock_ppm', -100.0, 100.0))

# Receiver families, as overrides of `ReceiverConfig` fields. HackRF One: 8-bit ADC (MAX5864) at <= 20 Msps with
# the MAX2837 baseband filter close to the band edge, no DC correction (the band-3/39 captures: DC ~20 dB and spurs
# near +-0.48·fs 13-23 dB over the floor, RMS 10-21 dB below full scale). USRP (B2x0 12 bit, X300 14 bit, 16-bit
# host samples): a decaying near-DC residue of the DC-offset correction (the n78 capture: ~60 dB, decaying by
# ~10 dB over 7.5 ms, i.e. an amplitude time constant of ~6.5 ms), weak spurs, better image rejection.
KINDS: dict[str, dict[str, Any]] = {
    'hackrf': dict(capture_rates=(15.36e6, 19.2e6), adc_bits=(8,), agc_backoff_db=(10.0, 20.0), passband=0.9,
                   dc_leak_dbc=(-18.0, -6.0), iq_image_rejection_db=(25.0, 40.0), num_spurs=(1, 3),
                   spur_offsets=(0.3, 0.48), spur_levels_db=(12.0, 20.0), phase_noise_dbc_hz=(-90.0, -80.0)),
    'usrp': dict(capture_rates=(23.04e6, 30.72e6, 46.08e6, 61.44e6), adc_bits=(12, 14, 16),
                 agc_backoff_db=(8.0, 20.0), passband=0.8, dc_leak_dbc=(-40.0, -5.0), dc_decay_s=(2e-3, 20e-3),
                 iq_image_rejection_db=(35.0, 45.0), num_spurs=(0, 1), spur_levels_db=(5.0, 12.0),
                 phase_noise_dbc_hz=(-100.0, -90.0)),
}


def _pairs(choices) -> tuple:
  return tuple((str(n), float(w)) for n, w in choices)


def _imbalance_for(irr_db: float, angle: float) -> tuple[float, float]:
  """(g, φ) whose image rejection is exactly irr_db; `angle` splits the error between amplitude and phase."""
  def excess(r):
    return _irr_db(1 + r * cos, r * sin) - irr_db
  sin, cos = (float(v) for v in portable_math.sincos(angle))
  r0 = 2 * portable_math.db_to_amplitude(-irr_db)  # small-error approximation 1/IRR ~ (ε² + φ²) / 4
  r = scipy.optimize.brentq(excess, r0 / 4, r0 * 4, xtol=1e-15)
  return 1 + r * cos, r * sin


def quantize(x: np.ndarray, bits: int) -> np.ndarray:
  """ADC: each rail rounded to steps of 2^-(bits-1), clipped to [-1, 1 - step] (two's complement), complex64."""
  if bits not in ADC_BITS:
    raise ValueError(f'bits must be one of {ADC_BITS}, got {bits!r}')
  scale = 2.0 ** (bits - 1)
  rails = [np.clip(np.round(v * scale), -scale, scale - 1) / scale for v in (np.real(x), np.imag(x))]
  return (rails[0] + 1j * rails[1]).astype(np.complex64)
