"""WLAN and radar in a scene: 802.11 traffic on a 20/40/80 MHz channel (`wlan`) and pulsed radar (`radar`),
labelled per packet or pulse ('WLAN', 'Radar') rather than over the whole frame.

An emitter lies either over a carrier (co-channel: Wi-Fi beside NR-U/LAA in the 5/6 GHz bands, radar in CBRS/n48
or C band) or in spectrum no carrier or earlier emitter occupies (adjacent). Its power spectral density while on
is drawn relative to the strongest carrier's, as the interferers' is (`scene_interferers`). The waveform is made at
the frame rate and kept whole, so rendering at any samples reads the same values. Its annotations come after the
carriers' in the frame: where a packet or pulse is on, its label wins over the carrier's band.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from specsense_jax import constants
from specsense_jax import portable_math
from specsense_jax.signals import channel
from specsense_jax.signals import radar
from specsense_jax.signals import scene_config
from specsense_jax.signals import scene_interferers
from specsense_jax.signals import scene_layout
from specsense_jax.signals import wlan
from specsense_jax.signals import wlan_fields
from specsense_jax.signals import wlan_ppdu

LABELS = {'wlan': wlan.LABEL, 'radar': radar.LABEL}
SWEEP_CELL = 64  # samples per occupancy cell of a chirp (a quarter of a matlab-mode read)
READ_SAMPLES = 256  # a matlab-mode read: its resolution, fs/256, smooths a pulse's spectrum
SPREAD_OFFSETS = 48  # offsets of a pulse's spread profile, 0 then geometric from fs/1024 to fs/2


@dataclasses.dataclass
class SampledTransmission:
  """A signal made at the frame rate, centred at 0 Hz, shifted to `centre_hz` and scaled by `gain`.

  Attributes:
    iq: complex64 samples of the whole frame.
    centre_hz: centre offset in the frame.
    power: mean power over the frame before `gain`.
    gain: amplitude scale.
  """
  iq: np.ndarray
  centre_hz: float
  power: float
  gain: float = 1.0

  def received(self, sample_rate: float, num_samples: int, indices: np.ndarray | None) -> np.ndarray:
    x = self.iq if indices is None else self.iq[np.asarray(indices, np.int64)]
    phasor = channel.phasor(self.centre_hz, sample_rate, indices, num_samples)
    return scene_interferers.rotate(np.ascontiguousarray(x.real), np.ascontiguousarray(x.imag), phasor, self.gain)


@dataclasses.dataclass
class BurstyEmitter:
  """One drawn WLAN channel or radar: its transmission, one annotation per packet or pulse, its draws."""
  kind: str
  annotations: list[dict[str, Any]]
  params: dict[str, Any]
  transmission: SampledTransmission


def _wlan_choice(rng: np.random.Generator, config) -> tuple[str, int]:
  """A format and a channel width it supports that the sample rate holds."""
  fmt = scene_config.pick(rng, config.wlan_formats)
  widths = tuple((b, w) for b, w in config.wlan_bandwidths_mhz
                 if b in wlan_fields.BANDWIDTHS_MHZ[fmt] and config.sample_rate > 2 * wlan_ppdu.mask_stop_hz(fmt, b))
  return fmt, (int(scene_config.pick(rng, widths)) if widths else 0)


def _centre(rng: np.random.Generator, cochannel: bool, width_hz: float, carriers: list[dict[str, Any]],
            occupied: list[tuple[float, float]], sample_rate: float, allow_cochannel: bool = True
            ) -> tuple[float, bool] | None:
  """(centre, co-channel): a centre within a drawn carrier's band when `cochannel`, else a free spot, or, where
  none fits and `allow_cochannel`, a carrier's band; None where the band fits nowhere."""
  limit = sample_rate / 2 - width_hz / 2
  if limit < 0:
    return None
  if not cochannel:
    centre = scene_layout.draw_free_centre(rng, scene_layout.free_intervals(occupied, sample_rate), width_hz)
    if centre is not None or not allow_cochannel:
      return None if centre is None else (centre, False)
  carrier = carriers[int(rng.integers(len(carriers)))]
  centre = carrier['centre_hz'] + float(rng.uniform(-0.5, 0.5)) * carrier['bandwidth_hz']
  return float(np.clip(centre, -limit, limit)), True


def _sweep_cells(annotation: dict[str, Any], centre_hz: float) -> np.ndarray:
  """(K, 4) occupancy cells [sample_start, sample_count, freq_lower_edge, freq_upper_edge] of a chirped pulse:
  stretches of `SWEEP_CELL` samples, each over the band its instantaneous frequency sweeps then (the pulse's
  part inside the frame)."""
  start, length = annotation['specsense:pulse_start'], annotation['specsense:pulse_samples']
  f0, f1 = annotation['specsense:sweep_hz']
  edges = np.arange(0, length + SWEEP_CELL, SWEEP_CELL).clip(max=length).astype(np.float64)
  freqs = f0 + (f1 - f0) * edges / length + centre_hz
  first = annotation['sample_start'] - start
  last = first + annotation['sample_count']
  lo, hi = np.maximum(edges[:-1], first), np.minimum(edges[1:], last)
  keep = hi > lo
  cells = np.stack([start + lo, hi - lo, np.minimum(freqs[:-1], freqs[1:]), np.maximum(freqs[:-1], freqs[1:])], 1)
  return cells[keep]


def pulse_spread(pulse: np.ndarray, sample_rate: float, centre_hz: float) -> dict[str, Any]:
  """A pulse's spectral spread, `constants.SPREAD_KEY`'s value.

  Args:
    pulse: the pulse's samples (any scale).
    sample_rate: their rate.
    centre_hz: the pulse's centre in the frame.

  Returns:
    {'centre_hz', 'offset_hz': (SPREAD_OFFSETS,) ascending from 0, 'level_db': the most the pulse's energy spectral
    density over its energy, smoothed over fs/256, reaches at or beyond each offset from its centre (dB re 1/Hz,
    non-increasing)}. A read that holds a share q of the window's energy of a pulse whose power is C/N0 over the
    noise density shows it, at an offset, where q * C/N0 * level >= 1 (a flat band B gives level 1/B).
  """
  x = np.asarray(pulse, np.complex128)
  size = max(4096, 1 << (4 * max(len(x), 1) - 1).bit_length())
  spectrum = portable_math.abs2(np.fft.fft(x, size))
  total = float(spectrum.sum())
  if not total > 0:
    raise ValueError('pulse_spread: the pulse has no energy')
  smooth = size // READ_SAMPLES  # bins in fs/256, averaged circularly
  wrapped = np.take(spectrum, np.arange(-(smooth // 2), size + smooth - 1 - smooth // 2), mode='wrap')
  density = portable_math.convolve(wrapped, np.full(smooth, 1.0 / smooth), 'valid') / (total * sample_rate / size)
  offsets = np.abs(np.fft.fftfreq(size, 1.0 / sample_rate))
  order = np.argsort(-offsets, kind='stable')  # from the band's edge in: the most at or beyond each offset
  reach = np.maximum.accumulate(density[order])
  steps = np.arange(SPREAD_OFFSETS - 1) / (SPREAD_OFFSETS - 2)  # portable_math: the same bits on every CPU
  grid = np.concatenate([[0.0], sample_rate / 1024 * portable_math.exp(steps * portable_math.log(512.0))])
  grid[-1] = sample_rate / 2
  at = np.searchsorted(-offsets[order], -grid, side='right') - 1  # last sorted offset >= each grid offset
  level = reach[np.maximum(at, 0)]
  return {'centre_hz': float(centre_hz), 'offset_hz': grid.tolist(),
          'level_db': portable_math.power_to_db(np.maximum(level, 1e-30)).tolist()}


def mark_visibility(emitters: list[BurstyEmitter], noise_psd: float, sample_rate: float) -> None:
  """Records on each packet's or pulse's annotation (in place) its power while on (the transmission over its
  samples, scaled) over the noise's spectral density, `constants.CN0_KEY` (dB-Hz), and on an unchirped radar's
  pulses their spectral spread (`constants.SPREAD_KEY`, from the strongest whole pulse: the pulses differ only in
  amplitude): what `spectrogram.label_mask` weighs against the noise in each read and column."""
  for emitter in emitters:
    t = emitter.transmission
    for annotation in emitter.annotations:
      on = t.iq[annotation['sample_start']:annotation['sample_start'] + annotation['sample_count']]
      power = t.gain ** 2 * float(np.mean(portable_math.abs2(on.astype(np.complex128))))
      annotation[constants.CN0_KEY] = float(portable_math.power_to_db(max(power, 1e-30) / noise_psd))
    if emitter.kind == 'radar' and emitter.params.get('modulation') != 'lfm' and emitter.annotations:
      # a chirp keeps its swept cells; the longest pulse (whole where one is), strongest among those, gives the shape
      best = max(emitter.annotations, key=lambda a: (a['sample_count'], a[constants.CN0_KEY]))
      pulse = t.iq[best['sample_start']:best['sample_start'] + best['sample_count']]
      spread = pulse_spread(pulse, sample_rate, t.centre_hz)
      for annotation in emitter.annotations:
        annotation[constants.SPREAD_KEY] = spread


def draw_bursty(seed: np.random.SeedSequence, config, carriers: list[dict[str, Any]], duration_s: float,
                num_samples: int) -> list[BurstyEmitter]:
  """A frame's WLAN channels and radars, scaled and annotated (frame coordinates, not yet clipped).

  Args:
    seed: the frame's seed child for them.
    config: the `SceneConfig` (`bursty_*`, `wlan_*`).
    carriers: the scene's carriers as `scene_interferers.draw_interferers` takes them.
    duration_s, num_samples: the frame's.
  """
  rng = np.random.default_rng(seed)
  count = int(scene_config.pick(rng, config.bursty_counts))
  seeds = seed.spawn(count)
  fs = config.sample_rate
  occupied = [(c['centre_hz'] - c['bandwidth_hz'] / 2, c['centre_hz'] + c['bandwidth_hz'] / 2) for c in carriers]
  reference = max(c['psd'] for c in carriers)
  fallback = config.bursty_cochannel_share > 0 and config.bursty_cochannel_fallback
  out = []
  for k in range(count):
    kind = scene_config.pick(rng, config.bursty_kinds)
    power_db = float(rng.uniform(*config.bursty_power_db))
    cochannel = bool(rng.random() < config.bursty_cochannel_share)
    if kind == 'wlan':
      fmt, bandwidth_mhz = _wlan_choice(rng, config)
      profile = scene_config.pick(rng, config.wlan_channels)
      if not bandwidth_mhz:
        continue
      wave = wlan.wlan_waveform(bandwidth_mhz, fmt=fmt, seed=seeds[k], duration_s=duration_s, sample_rate=fs,
                                channel=None if profile == 'none' else profile, traffic=config.wlan_traffic)
      width = bandwidth_mhz * 1e6
    else:
      wave = radar.radar_waveform(seed=seeds[k], duration_s=duration_s, sample_rate=fs)
      width = wave.bandwidth_hz
    placed = _centre(rng, cochannel, width, carriers, occupied, fs, fallback)
    on = np.zeros(num_samples, bool)
    for ann in wave.annotations:
      on[ann['sample_start']:ann['sample_start'] + ann['sample_count']] = True
    iq = wave.iq[:num_samples]
    if placed is None or not on.any():
      continue
    centre, cochannel = placed
    active_power = float(np.mean(portable_math.abs2(iq[on].astype(np.complex128))))
    band = float(np.median([a.get('specsense:occupied_hz', a['freq_upper_edge'] - a['freq_lower_edge'])
                            for a in wave.annotations]))  # B: the occupied band, as the interferers'
    target = reference * portable_math.db_to_power(power_db) * band
    power = float(np.mean(portable_math.abs2(iq.astype(np.complex128))))
    transmission = SampledTransmission(iq, centre, power, float(np.sqrt(target / active_power)))
    annotations = [{'label': LABELS[kind], 'freq_lower_edge': a['freq_lower_edge'] + centre,
                    'freq_upper_edge': a['freq_upper_edge'] + centre, 'sample_start': int(a['sample_start']),
                    'sample_count': int(a['sample_count'])} for a in wave.annotations]
    if config.bursty_visible_labels:  # a chirp's cells: the band it sweeps in each short stretch
      for annotation, a in zip(annotations, wave.annotations):
        if 'specsense:sweep_hz' in a:
          annotation['occupancy'] = _sweep_cells(a, centre)
    params = {key: value for key, value in wave.params.items() if not isinstance(value, (list, dict))}
    params.update(kind=kind, centre_hz=centre, power_db=power_db, cochannel=cochannel, band_hz=band)
    if not cochannel:
      occupied.append((centre - width / 2, centre + width / 2))
    out.append(BurstyEmitter(kind, annotations, params, transmission))
  return out
