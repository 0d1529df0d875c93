"""Recordings at any sample rate and length -> 40 ms frames at the model's rate, with their annotations.

A recording narrower than the frame rate is resampled and the empty part of the band is filled with noise at
the recording's measured floor; the fill is never labelled. A wider one is low-pass filtered and decimated
(its central span is kept). A last partial frame is completed in time with floor noise, so no data is dropped.
"""

from __future__ import annotations

import dataclasses
import fractions
import hashlib
from typing import Any, Iterator

import numpy as np
import scipy.signal

from specsense_jax import sigmf
from specsense_jax.signals import counter_rng

_MARGIN = 256  # input samples read beyond each frame edge so the resampling filter has settled


@dataclasses.dataclass
class CapturedFrame:
  """One frame cut from a recording."""
  recording: str
  frame_index: int
  iq: np.ndarray
  sample_rate: float
  annotations: list[dict[str, Any]]
  valid_fraction: float  # share of the frame's time that came from the recording
  noise_floor_db: float  # measured floor (dB per Hz, full scale = 0 dB)


def noise_floor_density(iq: np.ndarray, sample_rate: float) -> float:
  """Noise power spectral density (per Hz) of a recording.

  Each frequency bin's median periodogram over time (divided by ln 2: the median of an exponential variable)
  estimates that bin's mean level; the floor is the lowest such level, smoothed over 5 bins, among bins away
  from DC and from the very band edges. A carrier that fills most of the band still leaves its guard bands
  and idle time to measure.
  """
  nperseg = int(min(512, max(64, len(iq) // 32)))
  _, _, cells = scipy.signal.spectrogram(iq, sample_rate, window='hann', nperseg=nperseg, noverlap=0,
                                         return_onesided=False, detrend=False, scaling='density')
  f = np.fft.fftfreq(nperseg, 1 / sample_rate)
  level = np.convolve(np.median(cells, axis=1) / np.log(2), np.ones(5) / 5, mode='same')
  keep = (np.abs(f) < 0.49 * sample_rate) & (np.abs(f) > 3 * sample_rate / nperseg)
  return float(np.min(level[keep]))


def _rate_ratio(target: float, source: float) -> fractions.Fraction:
  return fractions.Fraction(target).limit_denominator(10**6) / fractions.Fraction(source).limit_denominator(10**6)


def _frame_seed(recording: str, frame_index: int) -> int:
  digest = hashlib.sha256(f'{recording}/{frame_index}'.encode()).digest()
  return int.from_bytes(digest[:8], 'little')


def frames_from_recording(recording: sigmf.Recording, *, sample_rate: float = 61.44e6, duration_s: float = 0.04
                          ) -> Iterator[CapturedFrame]:
  """Cuts a recording into frames at `sample_rate`, one at a time (bounded memory).

  Yields:
    `CapturedFrame`s with annotations clipped to the frame and to the recording's band, in frame samples and
    Hz relative to the centre.
  """
  rec_rate = recording.sample_rate
  ratio = _rate_ratio(sample_rate, rec_rate)
  frame_len = int(round(duration_s * sample_rate))
  rec_duration = recording.num_samples / rec_rate
  num_frames = max(1, int(np.ceil(rec_duration / duration_s - 1e-9)))
  floor = noise_floor_density(recording.read(0, min(recording.num_samples, int(rec_rate * 0.1))), rec_rate)
  span = min(rec_rate, sample_rate)
  freqs = np.fft.fftfreq(frame_len, 1 / sample_rate)
  outside = np.abs(freqs) >= rec_rate / 2 * 0.98 if rec_rate < sample_rate else np.zeros(frame_len, bool)
  for k in range(num_frames):
    t0 = k * duration_s
    first = int(np.floor(t0 * rec_rate))
    last = min(recording.num_samples, int(np.ceil((t0 + duration_s) * rec_rate)))
    lo, hi = max(0, first - _MARGIN), min(recording.num_samples, last + _MARGIN)
    segment = recording.read(lo, hi - lo)
    if ratio == 1:
      resampled = segment
    else:
      resampled = scipy.signal.resample_poly(segment, ratio.numerator, ratio.denominator).astype(np.complex64)
    offset = int(round((first - lo) * float(ratio)))
    valid = min(frame_len, int(round((last - first) * float(ratio))))
    iq = np.zeros(frame_len, np.complex64)
    iq[:valid] = resampled[offset:offset + valid]
    noise = np.sqrt(floor * sample_rate) * counter_rng.complex_normal(_frame_seed(recording.name, k),
                                                                        np.arange(frame_len))
    fill = np.zeros(frame_len, bool)
    fill[valid:] = True
    if outside.any():  # frequency fill: noise only where the recording has no band
      iq += np.fft.ifft(np.fft.fft(noise) * outside).astype(np.complex64) * (~fill)
    iq[fill] = noise[fill]
    annotations = []
    for ann in recording.annotations:
      s0 = max(ann['sample_start'], first)
      s1 = min(ann['sample_start'] + ann['sample_count'], last)
      f_lo, f_hi = max(ann['freq_lower_edge'], -span / 2), min(ann['freq_upper_edge'], span / 2)
      if s1 <= s0 or f_hi <= f_lo:
        continue
      start = int(round((s0 - first) * float(ratio)))
      annotations.append({'label': ann['label'], 'freq_lower_edge': f_lo, 'freq_upper_edge': f_hi,
                          'sample_start': start,
                          'sample_count': max(1, min(frame_len, int(round((s1 - first) * float(ratio)))) - start)})
    yield CapturedFrame(recording.name, k, iq, sample_rate, annotations, valid / frame_len,
                        float(10 * np.log10(floor)))
