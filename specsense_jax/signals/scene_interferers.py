"""Interferers of a scene, labelled Unknown: DVB-T, CW tones, analog FM and PMR bursts in spectrum no carrier
occupies, and SC-FDMA uplink in the uplink symbols of a TDD carrier (built by `scene`, which owns the carriers).

DVB-T, FM and bursts are made at a low rate r (1.5 times DVB-T's occupied band, 4 times the others', r/fs = a/b) and
evaluated at the frame's instants m/fs by a polyphase Kaiser-windowed-sinc interpolator (12 taps, one row of taps
per fractional phase (m·a mod b)/b), times a phasor for their centre offset; a CW tone is the phasor itself. Every
output sample is the same fixed sequence of float32 operations on the same inputs whether the whole frame or a
few windows are rendered, so `render(indices) == render()[indices]` exactly, and a window costs 12 multiply-adds a
sample.

Power: each interferer is scaled to a drawn power spectral density relative to the strongest carrier's, while it
is on: power while active = reference PSD · 10^(power_db/10) · B, with B its occupied band (DVB-T K/T_U, FM
Carson's 2(Δf + f_m), bursts the channels' spacing times their number, uplink the carrier's 12·N_RB·SCS) and for
a CW tone one image column, sample_rate / image_width, so that a tone stands as far above the carriers' pixels as
`power_db` says. The generators' own levels do not matter: the active power is measured on the low-rate samples
(DVB-T: every sample; bursts: the samples inside a burst).

CW tones are placed in free spectrum like the others (not inside carriers, where the receiver model's spurs go).
"""

from __future__ import annotations

import dataclasses
import fractions
import functools
from typing import Any

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import channel
from specsense_jax.signals import dvbt
from specsense_jax.signals import interferers
from specsense_jax.signals import scene_config
from specsense_jax.signals import scene_layout
from specsense_jax.signals import waveform as waveform_lib

_HALF_TAPS = 6  # taps on each side of the interpolated instant
_KAISER_BETA = 6.0
_OVERSAMPLING = 1.5  # DVB-T: low rate / occupied bandwidth (images below -50 dB)
_NARROW_OVERSAMPLING = 4.0  # FM and bursts, whose generation costs little: images below -70 dB
FM_CHANNEL_HZ = 200e3  # ITU-R BS.412: FM broadcast channels 200 kHz apart (placement width)
CW_CELL_HZ = 2e3
BURST_SPAN_HZ = (100e3, 1e6)
DVBT_BANDWIDTHS = ((8, 0.8), (7, 0.1), (6, 0.1))


@functools.lru_cache(maxsize=32)
def _taps(a: int, b: int) -> np.ndarray:
  """(2·half, b) float32: column j holds the taps of fractional phase j/b, for inputs q+1-half .. q+half."""
  frac = np.arange(b)[None, :] / b
  t = frac + _HALF_TAPS - 1 - np.arange(2 * _HALF_TAPS)[:, None]  # instant minus input position
  window = (portable_math.bessel_i0(_KAISER_BETA * np.sqrt(np.clip(1 - (t / _HALF_TAPS) ** 2, 0, None)))
            / portable_math.bessel_i0(_KAISER_BETA))
  taps = portable_math.sinc(t) * window
  return np.ascontiguousarray((taps / taps.sum(axis=0, keepdims=True)).astype(np.float32))


@dataclasses.dataclass
class LowRateTransmission:
  """A signal made at rate fs·a/b, interpolated to the frame's samples and shifted to `centre_hz`.

  Attributes:
    real, imag: float32 low-rate samples; sample `_HALF_TAPS` is frame time 0.
    a, b: low rate / frame rate = a / b (lowest terms).
    centre_hz: centre offset in the frame.
    power: mean power over the frame before `gain`.
    gain: amplitude scale.
  """
  real: np.ndarray
  imag: np.ndarray
  a: int
  b: int
  centre_hz: float
  power: float = 0.0
  gain: float = 1.0

  def received(self, sample_rate: float, num_samples: int, indices: np.ndarray | None) -> np.ndarray:
    taps = _taps(self.a, self.b)
    if indices is None:  # outputs m = b·u + v share their phase per v: strided slices, same arithmetic
      count = -(-num_samples // self.b)
      real = np.zeros((self.b, count), np.float32)
      imag = np.zeros((self.b, count), np.float32)
      for v in range(self.b):
        q, j = divmod(v * self.a, self.b)
        for n in range(2 * _HALF_TAPS):
          start = q + 1 + n
          stop = start + self.a * (count - 1) + 1
          real[v] += taps[n, j] * self.real[start:stop:self.a]
          imag[v] += taps[n, j] * self.imag[start:stop:self.a]
      real, imag = real.T.reshape(-1)[:num_samples], imag.T.reshape(-1)[:num_samples]
    else:
      m = np.asarray(indices, np.int64)
      q, j = np.divmod(m * self.a, self.b)
      real = np.zeros(m.shape, np.float32)
      imag = np.zeros(m.shape, np.float32)
      for n in range(2 * _HALF_TAPS):
        t = taps[n][j]
        real += t * self.real[q + 1 + n]
        imag += t * self.imag[q + 1 + n]
    return rotate(real, imag, channel.phasor(self.centre_hz, sample_rate, indices, num_samples), self.gain)


def rotate(real: np.ndarray, imag: np.ndarray, phasor: np.ndarray, gain: float) -> np.ndarray:
  """gain·(real + j·imag)·phasor in float32 real arithmetic: numpy's complex64 multiply may round the imaginary
  part differently (fused multiply-add order) depending on the arrays' memory alignment, which would break the
  equality of rendering at indices and rendering whole; float32 multiplies and adds round the same everywhere."""
  cos, sin, gain = phasor.real, phasor.imag, np.float32(gain)
  out = np.empty(real.shape, np.complex64)
  out.real = gain * (real * cos - imag * sin)
  out.imag = gain * (real * sin + imag * cos)
  return out


@dataclasses.dataclass
class ToneTransmission:
  """A CW tone exp(j(2π f n/fs + φ0)) of unit power."""
  centre_hz: float
  phase0: float
  power: float = 1.0
  gain: float = 1.0

  def received(self, sample_rate: float, num_samples: int, indices: np.ndarray | None) -> np.ndarray:
    phasor = channel.phasor(self.centre_hz, sample_rate, indices, num_samples)
    sin, cos = portable_math.sincos(self.phase0)
    real = np.full(phasor.shape, cos, np.float32)
    return rotate(real, np.full(phasor.shape, sin, np.float32), phasor, self.gain)


@dataclasses.dataclass
class Interferer:
  """One drawn interferer.

  Attributes:
    kind: one of `scene_config.INTERFERER_KINDS`.
    annotation: 'Unknown' annotation (frame coordinates, not yet clipped).
    params: its draws (JSON-able).
    transmission: what renders it (`LowRateTransmission`, `ToneTransmission`); None for 'uplink', which the
      scene builds from the carrier it belongs to.
    active_power: mean power while on, before gain.
    band_hz: B of the module docstring.
  """
  kind: str
  annotation: dict[str, Any]
  params: dict[str, Any]
  transmission: Any
  active_power: float
  band_hz: float


def low_rate(sample_rate: float, rate_hz: float) -> tuple[int, int]:
  """(a, b) with a/b = rate_hz / sample_rate in lowest terms (denominator at most 4096)."""
  ratio = fractions.Fraction(rate_hz / sample_rate).limit_denominator(4096)
  return ratio.numerator, ratio.denominator


def _samples_needed(num_samples: int, a: int, b: int) -> int:
  """Low-rate samples the whole-frame path reads: it computes ceil(N/b)·b outputs."""
  return (-(-num_samples // b) + 1) * a + 2 * _HALF_TAPS + 2


def _low_rate_transmission(iq: np.ndarray, a: int, b: int, num_samples: int, centre_hz: float,
                           active: np.ndarray | None) -> tuple[LowRateTransmission, float]:
  """The transmission and its power while active (samples marked in `active`, all when None)."""
  iq = np.asarray(iq, np.complex64)[:_samples_needed(num_samples, a, b)]
  span = iq[_HALF_TAPS:_HALF_TAPS + -(-num_samples * a // b)].astype(np.complex128)
  power = float(np.mean(portable_math.abs2(span)))
  inside = np.ones(len(span), bool) if active is None else active[_HALF_TAPS:_HALF_TAPS + len(span)]
  active_power = float(np.mean(portable_math.abs2(span[inside]))) if inside.any() else 0.0
  return LowRateTransmission(np.ascontiguousarray(iq.real), np.ascontiguousarray(iq.imag), a, b, centre_hz,
                             power), active_power


def _frame_cells(cells: np.ndarray, a: int, b: int, centre_hz: float, num_samples: int) -> np.ndarray:
  """Low-rate cells [start, count, f_lo, f_hi] to frame samples and frequencies."""
  cells = np.asarray(cells, np.float64).reshape(-1, 4)
  s0 = np.clip(np.floor((cells[:, 0] - _HALF_TAPS) * b / a), 0, num_samples)
  s1 = np.clip(np.ceil((cells[:, 0] + cells[:, 1] - _HALF_TAPS) * b / a), 0, num_samples)
  out = np.stack([s0, s1 - s0, cells[:, 2] + centre_hz, cells[:, 3] + centre_hz], axis=1)
  return out[out[:, 1] > 0]


def _annotation(low: float, high: float, num_samples: int, cells: np.ndarray | None) -> dict[str, Any]:
  out = {'label': interferers.LABEL, 'freq_lower_edge': float(low), 'freq_upper_edge': float(high),
         'sample_start': 0, 'sample_count': num_samples}
  if cells is not None:
    out['occupancy'] = cells
  return out


def _duration(count: int, rate: float) -> float:
  return (count + 0.25) / rate


def draw_dvbt(rng, seed, free, sample_rate, num_samples) -> Interferer | None:
  """A DVB-T channel in free spectrum (a narrower channel where the drawn one does not fit)."""
  widths = [w for w, _ in DVBT_BANDWIDTHS]
  drawn = widths[int(rng.choice(len(widths), p=[p for _, p in DVBT_BANDWIDTHS]))]
  for bandwidth in [drawn] + [w for w in sorted(widths, reverse=True) if w < drawn]:
    centre = scene_layout.draw_free_centre(rng, free, bandwidth * 1e6)
    if centre is not None:
      break
  else:
    return None
  mode = str(rng.choice(sorted(dvbt.MODES)))
  guard = str(rng.choice(sorted(dvbt.GUARDS)))
  modulation = str(rng.choice(dvbt.MODULATIONS))
  rate = float(fractions.Fraction(12_000_000 * bandwidth, 7))  # 1.5/T: direct synthesis, no resampling
  a, b = low_rate(sample_rate, rate)
  count = _samples_needed(num_samples, a, b)
  wave = dvbt.dvbt_waveform(bandwidth, seed=seed, mode=mode, guard=guard, modulation=modulation,
                            sample_rate=sample_rate * a / b, duration_s=_duration(count, sample_rate * a / b))
  transmission, active = _low_rate_transmission(wave.iq, a, b, num_samples, centre, None)
  (_, _, lo, hi), = wave.occupancy
  cells = np.array([[0, num_samples, centre + lo, centre + hi]])
  return Interferer('dvbt', _annotation(centre - bandwidth * 5e5, centre + bandwidth * 5e5, num_samples, cells),
                    {**wave.params, 'centre_hz': float(centre)}, transmission, active, float(hi - lo))


def draw_fm(rng, seed, free, sample_rate, num_samples) -> Interferer | None:
  """A mono FM broadcast (75 kHz deviation, 15 kHz audio) in a free 200 kHz channel."""
  centre = scene_layout.draw_free_centre(rng, free, FM_CHANNEL_HZ)
  if centre is None:
    return None
  carson = 2 * (75e3 + 15e3)
  b = max(1, int(sample_rate // (_NARROW_OVERSAMPLING * carson)))
  count = _samples_needed(num_samples, 1, b)
  wave = interferers.fm_waveform(seed=seed, sample_rate=sample_rate / b, duration_s=_duration(count, sample_rate / b))
  transmission, active = _low_rate_transmission(wave.iq, 1, b, num_samples, centre, None)
  cells = np.array([[0, num_samples, centre - carson / 2, centre + carson / 2]])
  return Interferer('fm', _annotation(centre - carson / 2, centre + carson / 2, num_samples, cells),
                    {**wave.params, 'centre_hz': float(centre)}, transmission, active, carson)


def draw_cw(rng, free, sample_rate, num_samples, image_width) -> Interferer | None:
  """An unmodulated tone in free spectrum."""
  centre = scene_layout.draw_free_centre(rng, free, CW_CELL_HZ)
  if centre is None:
    return None
  phase0 = float(rng.uniform(0, 2 * np.pi))
  half = CW_CELL_HZ / 2
  cells = np.array([[0, num_samples, centre - half, centre + half]])
  return Interferer('cw', _annotation(centre - half, centre + half, num_samples, cells),
                    {'kind': 'cw', 'centre_hz': float(centre), 'phase0': phase0}, ToneTransmission(centre, phase0),
                    1.0, sample_rate / image_width)


def draw_bursts(rng, seed, free, sample_rate, num_samples) -> Interferer | None:
  """PMR channels keyed on and off (`interferers.narrowband_bursts`) in a free span of 0.1-1 MHz."""
  widest = max((hi - lo for lo, hi in free), default=0.0)
  span = min(float(rng.uniform(*BURST_SPAN_HZ)), widest)
  spacing = float(rng.choice(interferers.CHANNEL_SPACINGS_HZ))
  if span < 2 * spacing:
    return None
  centre = scene_layout.draw_free_centre(rng, free, span)
  channels = int(rng.integers(1, 5))
  modulation = str(rng.choice(sorted(interferers.FSK_MODULATIONS)))
  b = max(1, int(sample_rate // (_NARROW_OVERSAMPLING * span)))
  count = _samples_needed(num_samples, 1, b)
  slots = int(span * 0.9 // spacing)  # channels kept off the span's edges: the 10 % margin holds their skirts
  wave = interferers.narrowband_bursts(
      seed=seed, sample_rate=sample_rate / b, duration_s=_duration(count, sample_rate / b), span_hz=0.9 * span,
      channel_spacing_hz=spacing, num_channels=(min(channels, slots),) * 2, modulation=modulation)
  active = np.zeros(len(wave.iq), bool)
  for s0, n, _, _ in wave.occupancy.astype(np.int64):
    active[s0:s0 + n] = True
  transmission, active_power = _low_rate_transmission(wave.iq, 1, b, num_samples, centre, active)
  cells = _frame_cells(wave.occupancy, 1, b, centre, num_samples)
  if active_power <= 0 or not len(cells):
    return None  # every burst fell outside the frame
  centres = [c['centre_hz'] for c in wave.params['channels']]
  low, high = centre + min(centres) - spacing / 2, centre + max(centres) + spacing / 2
  params = {**wave.params, 'centre_hz': float(centre), 'span_hz': span,
            'channels': [{**c, 'bursts': [list(map(int, x)) for x in c['bursts']]} for c in wave.params['channels']]}
  return Interferer('bursts', _annotation(low, high, num_samples, cells), params, transmission, active_power,
                    spacing * len(centres))


class _GridRows:
  """`GridSource.rows` of a fixed grid."""

  def __init__(self, grid: np.ndarray):
    self.grid = grid

  def __call__(self, symbols, values: bool = True) -> np.ndarray:
    rows = self.grid[np.asarray(symbols, np.int64)]
    return rows if values else rows != 0


def draw_uplink(seed: np.random.SeedSequence, carrier: dict[str, Any], duration_s: float, sample_rate: float,
                num_samples: int, make_transmission, with_cells: bool = True) -> Interferer:
  """Phones' SC-FDMA uplink in the uplink symbols of a TDD carrier, in its band, aligned with its frame.

  Args:
    seed: seed of the uplink's draws and of its channel.
    carrier: the carrier: 'label', 'kwargs' (its source arguments), 'centre_hz', 'shift', 'bandwidth_hz'.
    duration_s, sample_rate, num_samples: the frame's.
    make_transmission: (source, activity, numerology or None, shift, centre_hz, channel seed, flat=True) -> a
      transmission with `received`, `gain` and `expected_power` (the scene's carrier transmission, with its own
      flat fading).
    with_cells: attach occupancy cells (they cost a pass over the grid).
  """
  kwargs = carrier['kwargs']
  rat = 'lte' if carrier['label'] == 'LTE' else 'nr'
  wave_seq, channel_seq = seed.spawn(2)
  up = interferers.uplink_grid(kwargs['bandwidth_mhz'], seed=wave_seq, duration_s=duration_s, rat=rat, duplex='tdd',
                               ul_dl_config=kwargs.get('ul_dl_config', 2),
                               tdd_pattern=kwargs.get('tdd_pattern', 'DDDSU'), scs_khz=kwargs.get('scs_khz', 30))
  num_symbols, n_sc = up.grid.shape
  numerology, ratio = waveform_lib.synthesis_numerology(up.numerology_at, sample_rate, n_sc)
  # LTE's half-subcarrier shift as a frequency offset: it differs from TS 36.211's per-symbol restart only by a
  # constant phase per symbol, which random data does not show
  centre = carrier['centre_hz'] + (up.scs_hz / 2 if rat == 'lte' else 0.0)
  rows = _GridRows(up.grid)
  keep = scene_layout.inside_frame(n_sc, numerology, centre, sample_rate)
  if not keep.all():
    rows = scene_layout.EdgeCutRows(rows, keep)
  source = waveform_lib.GridSource(interferers.LABEL, carrier['bandwidth_hz'], n_sc, num_symbols, up.numerology_at,
                                   rows, up.params)
  activity = rows(np.arange(num_symbols), values=False)
  shift = carrier['shift']
  # flat Rayleigh fading: a multipath channel would cost as much as a carrier's for a signal seen far weaker
  transmission = make_transmission(source, activity, numerology if ratio == 1 else None, shift, centre, channel_seq,
                                   flat=True)
  transmission.power = transmission.expected_power(sample_rate, num_samples)
  starts = numerology.symbol_starts(num_symbols) * float(ratio)
  ends = np.minimum(starts + (numerology.cp_of(num_symbols) + numerology.fft_size) * float(ratio), num_samples)
  on_time = float(np.sum(np.clip(ends - starts, 0, None)[activity.any(axis=1)])) / num_samples
  cells = None
  if with_cells:
    cells = shift_cells(waveform_lib.occupancy_cells(activity, numerology, ratio, num_samples), shift, centre,
                        num_samples)
  low, high = carrier['centre_hz'] - carrier['bandwidth_hz'] / 2, carrier['centre_hz'] + carrier['bandwidth_hz'] / 2
  params = {**up.params, 'centre_hz': float(centre), 'carrier': carrier['index'], 'time_shift_samples': int(shift)}
  return Interferer('uplink', _annotation(low, high, num_samples, cells), params, transmission,
                    transmission.power / on_time if on_time > 0 else 0.0, 12 * (n_sc // 12) * up.scs_hz)


def shift_cells(cells: np.ndarray, shift: int, offset_hz: float, num_samples: int) -> np.ndarray:
  """Moves occupancy cells by a circular time shift and a frequency offset, splitting wrapped cells."""
  if len(cells) == 0:
    return cells
  out = cells.copy()
  out[:, 0] = (out[:, 0] + shift) % num_samples
  out[:, 2:] += offset_hz
  over = out[:, 0] + out[:, 1] - num_samples
  wrapped = over > 0
  tail = out[wrapped].copy()
  out[wrapped, 1] -= over[wrapped]
  tail[:, 0] = 0
  tail[:, 1] = over[wrapped]
  return np.concatenate([out, tail])


def draw_interferers(seed: np.random.SeedSequence, config, carriers: list[dict[str, Any]], duration_s: float,
                     num_samples: int, make_transmission) -> list[Interferer]:
  """A frame's interferers, scaled (their transmissions' `gain`) and annotated.

  Args:
    seed: the frame's interferer seed child.
    config: the `SceneConfig`.
    carriers: the scene's carriers: 'label', 'kwargs', 'centre_hz', 'bandwidth_hz', 'shift', 'index',
      'psd' (received power over nominal bandwidth; the strongest is the reference).
    duration_s, num_samples: the frame's.
    make_transmission: see `draw_uplink`.

  Returns:
    The interferers placed (a drawn one that fits nowhere is left out).
  """
  rng = np.random.default_rng(seed)
  count = int(scene_config.pick(rng, config.interferer_counts))
  seeds = seed.spawn(count)
  fs = config.sample_rate
  occupied = [(c['centre_hz'] - c['bandwidth_hz'] / 2, c['centre_hz'] + c['bandwidth_hz'] / 2) for c in carriers]
  # A carrier wider than the frame (`nr_wide_share`) gets no uplink: its grid would be modulated at a higher rate
  # and resampled around its own centre rather than the part in view.
  tdd = [c for c in carriers if c['kwargs'].get('duplex') == 'tdd' and c['bandwidth_hz'] <= fs]
  reference = max(c['psd'] for c in carriers)
  out = []
  for k in range(count):
    kinds = tuple((kind, w) for kind, w in config.interferer_kinds if (kind != 'uplink' or tdd) and w > 0)
    if not kinds:
      break
    kind = scene_config.pick(rng, kinds)
    power_db = float(rng.uniform(*config.interferer_power_db))
    free = scene_layout.free_intervals(occupied, fs)
    if kind == 'uplink':
      interferer = draw_uplink(seeds[k], tdd.pop(int(rng.integers(len(tdd)))), duration_s, fs, num_samples,
                               make_transmission, config.occupancy_cells)
    elif kind == 'dvbt':
      interferer = draw_dvbt(rng, seeds[k], free, fs, num_samples)
    elif kind == 'fm':
      interferer = draw_fm(rng, seeds[k], free, fs, num_samples)
    elif kind == 'cw':
      interferer = draw_cw(rng, free, fs, num_samples, config.image_width)
    else:
      interferer = draw_bursts(rng, seeds[k], free, fs, num_samples)
    if interferer is None or interferer.active_power <= 0:
      continue
    target = reference * portable_math.db_to_power(power_db) * interferer.band_hz
    interferer.transmission.gain = float(np.sqrt(target / interferer.active_power))
    interferer.params.update(kind=kind, power_db=power_db)
    if not config.occupancy_cells:
      interferer.annotation.pop('occupancy', None)
    if kind != 'uplink':
      occupied.append((interferer.annotation['freq_lower_edge'], interferer.annotation['freq_upper_edge']))
    out.append(interferer)
  return out
