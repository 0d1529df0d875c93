"""Recordings -> 40 ms frames -> masks, figures and detections, streamed frame by frame (bounded memory).

Inputs (`open_recording`, `image_frames`): SigMF recordings, raw IQ files (ci8, ci16, cf32 with a given
sample rate), `.npy` complex arrays, and spectrogram PNGs. Recordings at the model's rate read each frame once
(in `matlab` mode only the ~1 % of samples the spectrogram uses); other rates go through
`captured.frames_from_recording` (resampled, the band the recording lacks filled with noise at its floor). Columns outside the recording's band are never labelled
(`NO_DATA` in the masks) and never detected.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Iterator, Sequence

import numpy as np

from specsense_jax import captured
from specsense_jax import sigmf
from specsense_jax import spectrogram

MODEL_RATE = 61.44e6
FRAME_S = 0.04
NO_DATA = 255  # mask value of columns the recording has no band for
RAW_DTYPES = {'ci8': 'ci8', 'ci16': 'ci16_le', 'cf32': 'cf32_le'}


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


class _RawRecording:
  """A headerless interleaved IQ file, read on demand like `sigmf.Recording`."""

  def __init__(self, path: str, sample_rate: float, dtype: str, center_frequency: float):
    if dtype not in RAW_DTYPES:
      raise ValueError(f'{path}: --dtype must be one of {sorted(RAW_DTYPES)}, got {dtype!r}')
    if not sample_rate or sample_rate <= 0:
      raise ValueError(f'{path}: raw IQ needs --sample_rate (samples per second), got {sample_rate!r}')
    self.path = self.data_path = path
    self.datatype = RAW_DTYPES[dtype]
    component, _ = sigmf.DATATYPES[self.datatype]
    sample_bytes = 2 * np.dtype(component).itemsize
    size = os.path.getsize(path)
    if size % sample_bytes or size == 0:
      raise ValueError(f'{path}: {size} bytes is not a whole number of {dtype} samples ({sample_bytes} bytes '
                       'each): truncated file or wrong --dtype')
    self.sample_rate, self.center_frequency = float(sample_rate), float(center_frequency)
    self.num_samples = size // sample_bytes
    self.annotations: list[dict[str, Any]] = []
    self.name = os.path.splitext(os.path.basename(path))[0]

  read = sigmf.Recording.read
  read_segments = sigmf.Recording.read_segments
  _check_span = sigmf.Recording._check_span  # pylint: disable=protected-access
  _to_complex = sigmf.Recording._to_complex  # pylint: disable=protected-access


class _ArrayRecording:
  """A complex .npy array (memory-mapped)."""

  def __init__(self, path: str, sample_rate: float, center_frequency: float):
    if not sample_rate or sample_rate <= 0:
      raise ValueError(f'{path}: a .npy recording needs --sample_rate, got {sample_rate!r}')
    try:
      self._iq = np.load(path, mmap_mode='r')
    except Exception as e:  # numpy raises several types for corrupt files
      raise ValueError(f'{path}: not a readable .npy array ({e})') from None
    if self._iq.ndim != 1 or not np.iscomplexobj(self._iq):
      raise ValueError(f'{path}: expected a 1-D complex array, got {self._iq.dtype} {self._iq.shape}')
    self.path, self.sample_rate, self.center_frequency = path, float(sample_rate), float(center_frequency)
    self.num_samples = len(self._iq)
    self.annotations: list[dict[str, Any]] = []
    self.name = os.path.splitext(os.path.basename(path))[0]

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    count = self.num_samples - start if count is None else count
    iq = np.asarray(self._iq[start:start + count], np.complex64)
    if not np.all(np.isfinite(iq)):
      raise ValueError(f'{self.path}: non-finite sample at index {start + int(np.flatnonzero(~np.isfinite(iq))[0])}')
    return iq

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    return np.stack([self.read(int(s), length) for s in starts])


class _Slice:
  """Samples [start, start + count) of a recording, readable like a recording (annotations shifted, clipped)."""

  def __init__(self, recording, start: int, count: int):
    self._recording, self._start = recording, start
    self.path = getattr(recording, 'path', '')
    self.data_path = getattr(recording, 'data_path', self.path)
    self.sample_rate, self.center_frequency = recording.sample_rate, recording.center_frequency
    self.num_samples, self.name = count, f'{recording.name}@{start}'
    self.annotations = []
    for ann in getattr(recording, 'annotations', []):
      lo = max(ann['sample_start'], start)
      hi = min(ann['sample_start'] + ann['sample_count'], start + count)
      if hi > lo:
        self.annotations.append({**ann, 'sample_start': lo - start, 'sample_count': hi - lo})

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    count = self.num_samples - start if count is None else count
    if start < 0 or start + count > self.num_samples:
      raise ValueError(f'{self.data_path}: samples [{start}, {start + count}) outside the slice of '
                       f'{self.num_samples}')
    return self._recording.read(self._start + start, count)

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    return self._recording.read_segments(np.asarray(starts, np.int64) + self._start, length)


def _whole_frames_and_tail(recording) -> list[tuple[Any, int, float]]:
  """(part, index of its first frame, its start in s): the whole 40 ms frames, then the shorter rest, which
  becomes a frame of its own length rather than one padded with noise (see `frame_duration`)."""
  frame_len = int(round(FRAME_S * recording.sample_rate))
  whole = recording.num_samples // frame_len * frame_len
  if whole in (0, recording.num_samples):
    return [(recording, 0, 0.0)]
  return [(_Slice(recording, 0, whole), 0, 0.0),
          (_Slice(recording, whole, recording.num_samples - whole), whole // frame_len, whole / recording.sample_rate)]


def _shifted(frame: 'Frame', first_index: int, start_s: float) -> 'Frame':
  return dataclasses.replace(frame, index=frame.index + first_index, start_s=frame.start_s + start_s)


def open_recording(path: str, *, sample_rate: float | None = None, dtype: str | None = None,
                   center_frequency: float | None = None):
  """A readable recording (`read(start, count)`, `sample_rate`, `num_samples`, `center_frequency`, `name`)."""
  if not os.path.exists(path) and not os.path.exists(path + '.sigmf-meta'):
    raise ValueError(f'{path}: file not found')
  if path.endswith(('.sigmf-meta', '.sigmf-data', '.sigmf')) or os.path.exists(path + '.sigmf-meta'):
    recording = sigmf.read_recording(path)
    if sample_rate and abs(sample_rate - recording.sample_rate) > 1e-6 * recording.sample_rate:
      raise ValueError(f'{recording.path}: --sample_rate {sample_rate:g} disagrees with the metadata\'s '
                       f'{recording.sample_rate:g}')
    if center_frequency is not None:
      recording.center_frequency = float(center_frequency)
    return recording
  if path.endswith('.npy'):
    return _ArrayRecording(path, sample_rate, center_frequency or 0.0)
  if dtype is None:
    raise ValueError(f'{path}: a raw IQ file needs --dtype ({"/".join(RAW_DTYPES)}) and --sample_rate')
  return _RawRecording(path, sample_rate, dtype, center_frequency or 0.0)


def _floor_fill(recording, key: int, shape) -> np.ndarray:
  """Complex noise of `shape` at the recording's measured floor, seeded by (key, length): what fills the time
  after a recording's end in its last frame (never labelled)."""
  floor = captured.noise_floor_density(recording.read(0, min(recording.num_samples, int(MODEL_RATE * 0.1))),
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
                          ) -> Iterator[tuple[Frame, captured.CapturedFrame]]:
  """Frames through `captured.frames_from_recording` (any rate: resampled, band fill), each with the captured
  frame it came from (its annotations give the truth for evaluation)."""
  for part, first_index, start_s in _whole_frames_and_tail(recording):
    for frame, source in _captured_part_images(part, size, mode, colormap):
      yield _shifted(frame, first_index, start_s), source


def _captured_part_images(recording, size, mode, colormap):
  height, width = size
  valid_columns = band_columns(recording.sample_rate, width)
  duration = frame_duration(recording, mode, size)
  for frame in captured.frames_from_recording(recording, sample_rate=MODEL_RATE, duration_s=duration):
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
