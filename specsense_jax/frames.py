"""Recordings -> model-rate frames: resampled, the band a recording lacks filled with noise at its floor.

`frames_from_recording` cuts any recording into frames at the model's rate (with clipped annotations);
`recording_frames` turns a recording into spectrogram `Frame`s for the network (in `matlab` mode at the model's
rate only the ~1 % of samples the spectrogram uses are read). Columns outside the recording's band are never
labelled (`NO_LABEL` in the masks) and never detected.
"""

from __future__ import annotations

import dataclasses
import fractions
import hashlib
from typing import Any, Iterator, Sequence

import numpy as np
import scipy.signal

from specsense_jax import spectrogram
from specsense_jax.constants import FRAME_S
from specsense_jax.constants import MODEL_RATE
from specsense_jax.io import recordings
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


def frames_from_recording(recording, *, sample_rate: float = MODEL_RATE, duration_s: float = FRAME_S
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




@dataclasses.dataclass
class Frame:
  """One spectrogram image ready for the network, with where it came from."""
  index: int
  image: np.ndarray            # uint8 (H, W, 3)
  start_s: float               # time of the frame's first row in the recording
  duration_s: float
  center_frequency: float      # Hz
  span_hz: float               # frequency span of the image (columns)
  valid_columns: np.ndarray    # bool (W,): columns inside the recording's band
  valid_rows: np.ndarray       # bool (H,): rows inside the recording's time


def _whole_frames_and_tail(recording) -> list[tuple[Any, int, float]]:
  """(part, index of its first frame, its start in s): the whole 40 ms frames, then the shorter rest, which
  becomes a frame of its own length rather than one padded with noise (see `frame_duration`)."""
  frame_len = int(round(FRAME_S * recording.sample_rate))
  whole = recording.num_samples // frame_len * frame_len
  if whole in (0, recording.num_samples):
    return [(recording, 0, 0.0)]
  return [(recordings.SliceRecording(recording, 0, whole), 0, 0.0),
          (recordings.SliceRecording(recording, whole, recording.num_samples - whole), whole // frame_len, whole / recording.sample_rate)]


def _shifted(frame: 'Frame', first_index: int, start_s: float) -> 'Frame':
  return dataclasses.replace(frame, index=frame.index + first_index, start_s=frame.start_s + start_s)


def _floor_fill(recording, key: int, shape) -> np.ndarray:
  """Complex noise of `shape` at the recording's measured floor, seeded by (key, length): what fills the time
  after a recording's end in its last frame (never labelled)."""
  floor = noise_floor_density(recording.read(0, min(recording.num_samples, int(MODEL_RATE * 0.1))),
                                       MODEL_RATE)
  rng = np.random.default_rng([key, recording.num_samples])
  return (np.sqrt(floor * MODEL_RATE / 2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
          ).astype(np.complex64)


def band_columns(sample_rate: float, width: int) -> np.ndarray:
  """bool (W,): the image columns at the model's rate that a recording at `sample_rate` has band for."""
  column_freqs = (np.arange(width) + 0.5) * MODEL_RATE / width - MODEL_RATE / 2
  return np.abs(column_freqs) < min(sample_rate, MODEL_RATE) / 2


def frame_duration(recording, mode: str, size: tuple[int, int]) -> float:
  """Seconds one image covers: 40 ms, or the whole length of a shorter recording (at least what `mode` needs).

  A 40 ms frame that is mostly noise fill looks like nothing a network was trained on; a short capture imaged
  over its own length does (the real 1 ms NR captures: NR IoU 0 when filled, up to 0.88 when not).
  """
  height, width = size
  shortest = spectrogram.MATLAB_WINDOW if mode == 'matlab' else height * spectrogram.average_nfft(width)
  return min(FRAME_S, max(recording.num_samples / recording.sample_rate, shortest / MODEL_RATE))


def _fast_frames(recording, size: tuple[int, int], colormap: str) -> Iterator[Frame]:
  """Frames of a recording at the model's rate in matlab mode: only the segments the image uses are read."""
  height, width = size
  duration = frame_duration(recording, 'matlab', size)
  frame_len = int(round(duration * MODEL_RATE))
  starts = spectrogram.matlab_segment_starts(frame_len, height)
  window = spectrogram.MATLAB_WINDOW
  num_frames = max(1, -(-recording.num_samples // frame_len))
  for k in range(num_frames):
    base = k * frame_len
    segments = np.empty((height, window), np.complex64)
    valid_rows = base + starts + window <= recording.num_samples
    if valid_rows.any():
      segments[valid_rows] = recording.read_segments(base + starts[valid_rows], window)
    if not valid_rows.all():  # the last partial frame
      segments[~valid_rows] = _floor_fill(recording, k, (int((~valid_rows).sum()), window))
    psd = spectrogram.matlab_psd_db_from_segments(segments, MODEL_RATE, width)
    yield Frame(k, spectrogram.colorize(spectrogram.to_grey_levels(psd), colormap), k * duration, duration,
                recording.center_frequency, MODEL_RATE, np.ones(width, bool), valid_rows)


def _average_frames(recording, size: tuple[int, int], colormap: str) -> Iterator[Frame]:
  """Frames of a recording at the model's rate in average mode: each frame read once, no resampling."""
  height, width = size
  duration = frame_duration(recording, 'average', size)
  frame_len = int(round(duration * MODEL_RATE))
  num_frames = max(1, -(-recording.num_samples // frame_len))
  for k in range(num_frames):
    base = k * frame_len
    count = min(frame_len, recording.num_samples - base)
    iq = np.empty(frame_len, np.complex64)
    iq[:count] = recording.read(base, count)
    if count < frame_len:  # the last partial frame
      iq[count:] = _floor_fill(recording, k, (frame_len - count,))
    image = spectrogram.spectrogram_image(iq, MODEL_RATE, size, 'average', colormap)
    valid_rows = (np.arange(height) + 0.5) / height <= count / frame_len
    yield Frame(k, image, k * duration, duration, recording.center_frequency, MODEL_RATE, np.ones(width, bool),
                valid_rows)


def captured_frame_images(recording, size: tuple[int, int], mode: str = 'matlab', colormap: str = 'parula'
                          ) -> Iterator[tuple[Frame, CapturedFrame]]:
  """Frames through `frames_from_recording` (any rate: resampled, band fill), each with the captured
  frame it came from (its annotations give the truth for evaluation)."""
  for part, first_index, start_s in _whole_frames_and_tail(recording):
    for frame, source in _captured_part_images(part, size, mode, colormap):
      yield _shifted(frame, first_index, start_s), source


def _captured_part_images(recording, size, mode, colormap):
  height, width = size
  valid_columns = band_columns(recording.sample_rate, width)
  duration = frame_duration(recording, mode, size)
  for frame in frames_from_recording(recording, sample_rate=MODEL_RATE, duration_s=duration):
    image = spectrogram.spectrogram_image(frame.iq, MODEL_RATE, size, mode, colormap)
    valid_rows = (np.arange(height) + 0.5) / height <= frame.valid_fraction
    yield Frame(frame.frame_index, image, frame.frame_index * duration, duration, recording.center_frequency,
                MODEL_RATE, valid_columns, valid_rows), frame


def recording_frames(recording, size: tuple[int, int] = (128, 128), mode: str = 'matlab',
                     colormap: str = 'parula') -> Iterator[Frame]:
  """The recording's 40 ms frames as images at the model's rate, one at a time; what is left after the last
  whole frame (or a recording shorter than one) is a frame of its own length."""
  if mode not in spectrogram.SPECTROGRAM_MODES:
    raise ValueError(f'--mode must be one of {spectrogram.SPECTROGRAM_MODES}, got {mode!r}')
  if abs(recording.sample_rate - MODEL_RATE) >= 1e-6 * MODEL_RATE:
    return (frame for frame, _ in captured_frame_images(recording, size, mode, colormap))
  part_frames = _fast_frames if mode == 'matlab' else _average_frames
  return (_shifted(frame, first_index, start_s) for part, first_index, start_s in _whole_frames_and_tail(recording)
          for frame in part_frames(part, size, colormap))


def image_frames(paths: Sequence[str], size: tuple[int, int]) -> Iterator[Frame]:
  """Spectrogram PNGs (time down, frequency across) as frames; their size must be the model's."""
  import PIL.Image  # pylint: disable=g-import-not-at-top
  for k, path in enumerate(paths):
    try:
      with PIL.Image.open(path) as image:
        pixels = np.asarray(image.convert('RGB'))
    except Exception as e:  # PIL raises several types for corrupt files
      raise ValueError(f'{path}: not a readable image ({e})') from None
    if pixels.shape[:2] != tuple(size):
      raise ValueError(f'{path}: image is {pixels.shape[1]}x{pixels.shape[0]} but the model takes '
                       f'{size[1]}x{size[0]} spectrograms')
    yield Frame(k, pixels, 0.0, FRAME_S, 0.0, MODEL_RATE, np.ones(size[1], bool), np.ones(size[0], bool))
