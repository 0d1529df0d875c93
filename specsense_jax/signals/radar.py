"""Pulsed radar as a baseband waveform: `radar_waveform`, the class the 5G-and-radar segmentation example adds.

Pulses are unmodulated, linear-FM chirps or Barker phase-coded, with the pulse widths, repetition intervals,
chirp bandwidths and antenna scans of S- and C-band air-traffic control and weather radars (the ranges of ITU-R
M.1464-3 Table 1 for 2.7-2.9 GHz radionavigation/ATC radars and ITU-R M.1849-2 Tables 1-2 for weather radars;
e.g. ASR-9: 1 µs pulses, ~1 ms staggered PRI, 4.8 s rotation, 1.4° beam; WSR-88D: 1.57/4.7 µs, PRF
318-1304 Hz, 0.95° beam; solid-state radars: 10-100 µs chirps of 0.5-10 MHz). The rotating antenna sweeps its
beam past the receiver: a Gaussian main lobe over a sidelobe floor sets each pulse's amplitude. Each pulse has
raised-cosine edges and one annotation.
"""

from __future__ import annotations

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import waveform as waveform_lib

LABEL = 'Radar'
KINDS = ('unmodulated', 'lfm', 'barker')
BARKER_CODES = {7: (1, 1, 1, -1, -1, 1, -1), 11: (1, 1, 1, -1, -1, -1, 1, -1, -1, 1, -1),
                13: (1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1)}
# Draw ranges (ITU-R M.1464-3, M.1849-2): pulse widths, chirp bandwidths, chip widths, PRIs, scans.
PULSE_WIDTH_S = {'unmodulated': (0.4e-6, 5e-6), 'lfm': (10e-6, 100e-6)}
CHIP_WIDTH_S = (0.1e-6, 1e-6)
LFM_BANDWIDTH_HZ = (0.5e6, 10e6)
PRI_S = (0.25e-3, 3.3e-3)          # PRF 300-4000 Hz
STAGGER = (0.05, 0.15)             # ATC stagger: PRIs within ±5-15 % of the mean, 2-4 positions
ROTATION_S = (4.0, 12.0)
BEAMWIDTH_DEG = (0.5, 3.0)
SIDELOBE_DB = (-35.0, -25.0)
EDGE_SHARE = 0.05                  # rise/fall time as a share of the pulse (at least two samples)


def _pulse(kind: str, rng: np.random.Generator, sample_rate: float, pulse_width_s, bandwidth_hz):
  """(samples, params, half band Hz) of one pulse shape (amplitude 1, raised-cosine edges)."""
  params = {}
  if kind == 'barker':
    length = int(sorted(BARKER_CODES)[rng.integers(len(BARKER_CODES))])
    chip = portable_math.log_uniform(rng, *CHIP_WIDTH_S) if pulse_width_s is None else pulse_width_s / length
    pulse_width_s = chip * length
    params.update(code_length=length, chip_width_s=chip)
    half_band = 1.0 / chip
  elif kind == 'lfm':
    pulse_width_s = pulse_width_s or portable_math.log_uniform(rng, *PULSE_WIDTH_S['lfm'])
    bandwidth_hz = bandwidth_hz or portable_math.log_uniform(rng, *LFM_BANDWIDTH_HZ)
    direction = 1.0 if rng.integers(2) else -1.0
    params.update(bandwidth_hz=bandwidth_hz, chirp_direction=direction)
    half_band = bandwidth_hz / 2
  else:
    pulse_width_s = pulse_width_s or portable_math.log_uniform(rng, *PULSE_WIDTH_S['unmodulated'])
    half_band = 1.0 / pulse_width_s
  count = max(int(round(pulse_width_s * sample_rate)), 4)
  if half_band >= sample_rate / 2:
    raise ValueError(f'a {kind} pulse of {pulse_width_s * 1e6:g} µs occupies ±{half_band / 1e6:g} MHz, beyond '
                     f'the ±{sample_rate / 2e6:g} MHz of sample_rate')
  t = np.arange(count) / sample_rate
  if kind == 'lfm':
    slope = params['chirp_direction'] * params['bandwidth_hz'] / pulse_width_s
    phase = np.pi * slope * t * t - np.pi * params['chirp_direction'] * params['bandwidth_hz'] * t
    shape = portable_math.cis(phase)
  elif kind == 'barker':
    code = np.array(BARKER_CODES[params['code_length']], np.float64)
    shape = code[np.minimum((t / params['chip_width_s']).astype(np.int64), len(code) - 1)].astype(np.complex128)
  else:
    shape = np.ones(count, np.complex128)
  edge = max(2, int(round(EDGE_SHARE * count)))
  ramp = 0.5 - 0.5 * portable_math.cos(np.pi * (np.arange(edge) + 0.5) / edge)
  shape[:edge] *= ramp
  shape[-edge:] *= ramp[::-1]
  params['pulse_width_s'] = pulse_width_s
  return shape.astype(np.complex64), params, half_band


def _pri_sequence(rng: np.random.Generator, pri_s, staggered: bool) -> list[float]:
  mean = pri_s or portable_math.log_uniform(rng, *PRI_S)
  if not staggered:
    return [mean]
  spread = float(rng.uniform(*STAGGER))
  return [mean * (1 + spread * float(v)) for v in rng.uniform(-1, 1, int(rng.integers(2, 5)))]


def radar_waveform(*, seed, duration_s: float = 0.04, sample_rate: float = 61.44e6, kind: str | None = None,
                   pulse_width_s: float | None = None, pri_s: float | None = None,
                   bandwidth_hz: float | None = None, scan: bool = True) -> waveform_lib.Waveform:
  """A pulse train centred at 0 Hz.

  Args:
    seed: seed of every draw.
    duration_s: length.
    sample_rate: output rate.
    kind: 'unmodulated', 'lfm' or 'barker'; None draws one.
    pulse_width_s: pulse width (Barker: the whole code); None draws it from the kind's range.
    pri_s: mean pulse repetition interval; None draws it (and, half the time, a 2-4 position stagger).
    bandwidth_hz: LFM sweep; None draws it.
    scan: sweep a rotating antenna's beam past the receiver (else every pulse at full amplitude).

  Returns:
    A `Waveform` labelled 'Radar' with one annotation and occupancy row per pulse (band: the chirp's sweep, or
    the main lobe ±1/chip or ±1/pulse width), peak amplitude 1 in the main beam.
  """
  if kind is not None and kind not in KINDS:
    raise ValueError(f'kind must be None or one of {KINDS}, got {kind!r}')
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  for name, value in (('pulse_width_s', pulse_width_s), ('pri_s', pri_s), ('bandwidth_hz', bandwidth_hz)):
    if value is not None:
      waveform_lib.check_positive(name, value)
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  kind = kind or KINDS[int(rng.integers(len(KINDS)))]
  shape, params, half_band = _pulse(kind, rng, sample_rate, pulse_width_s, bandwidth_hz)
  pris = _pri_sequence(rng, pri_s, staggered=pri_s is None and bool(rng.integers(2)))
  if params['pulse_width_s'] >= min(pris):
    raise ValueError(f'pulse_width_s {params["pulse_width_s"]:g} must be shorter than the PRI {min(pris):g} s')
  num_samples = int(round(duration_s * sample_rate))
  rotation = float(rng.uniform(*ROTATION_S))
  beamwidth = float(rng.uniform(*BEAMWIDTH_DEG))
  sidelobe_db = float(rng.uniform(*SIDELOBE_DB))
  peak_s = float(rng.uniform(-0.5, 1.5)) * duration_s
  t, k = -float(rng.uniform(0, pris[0])), int(rng.integers(len(pris)))
  iq = np.zeros(num_samples, np.complex64)
  annotations, occupancy = [], []
  while t < duration_s:
    start = int(round(t * sample_rate))
    first, last = max(start, 0), min(start + len(shape), num_samples)
    if last > first:  # a pulse the window cuts keeps its part inside
      gain_db = 0.0
      if scan:  # Gaussian main lobe, -3 dB at ±beamwidth/2 (-12.04 (x/θ)² dB), over the sidelobe floor
        off_beam = (t - peak_s) / rotation * 360.0
        gain_db = max(-12.04 * (off_beam / beamwidth) ** 2, sidelobe_db)
      amplitude = np.float32(portable_math.db_to_amplitude(gain_db))
      iq[first:last] = shape[first - start:last - start] * amplitude
      annotations.append({'sample_start': first, 'sample_count': last - first, 'freq_lower_edge': -half_band,
                          'freq_upper_edge': half_band, 'label': LABEL, 'specsense:kind': kind,
                          'specsense:pulse_start': start, 'specsense:pulse_samples': len(shape),
                          'specsense:gain_db': float(gain_db)})
      if kind == 'lfm':  # the instantaneous frequency runs linearly from the first to the second
        direction = params['chirp_direction']
        annotations[-1]['specsense:sweep_hz'] = (-direction * half_band, direction * half_band)
      occupancy.append([first, last - first, -half_band, half_band])
    t += pris[k % len(pris)]
    k += 1
  params.update(kind='radar', modulation=kind, pris_s=pris, rotation_s=rotation, beamwidth_deg=beamwidth,
                sidelobe_db=sidelobe_db, beam_peak_s=peak_s if scan else None, num_pulses=len(annotations))
  return waveform_lib.Waveform(iq=iq, sample_rate=sample_rate, bandwidth_hz=2 * half_band, label=LABEL,
                               occupancy=np.asarray(occupancy, np.float64).reshape(-1, 4), params=params,
                               annotations=annotations)
