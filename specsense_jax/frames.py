"""Recordings -> frames at the model's rate: one path for prediction, capture evaluation and the captured datasets.

A recording is cut capture segment by capture segment (a frame never spans two) into 40 ms frames. What is
left of a segment after its last whole frame, or a segment shorter than one frame, is a frame of its own
length rather than a 40 ms frame padded with noise; only when it is shorter than the spectrogram mode needs
(`shortest_frame`) is the rest of that minimum filled. A recording at another rate is resampled to
`MODEL_RATE` (a wider one low-pass filtered, its central span kept); where it is narrower, the band it lacks
is filled with noise at its measured floor.

All fill comes from one counter-based source (`counter_rng`), keyed by the recording's name, a seed and the
frame index: the same recording and seed give the same bytes on any machine. Fill is never labelled:
`label_mask` writes `NO_LABEL` in the columns outside the recording's band and in the rows after its end, and
prediction leaves those pixels unpredicted. In matlab mode only the samples the spectrogram's windows need are
read, at any rate (a polyphase resampler evaluated at those windows, `_window_iq`); the floor is measured on a few
blocks of each segment's start.
"""

from __future__ import annotations

import dataclasses
import fractions
import functools
import hashlib
import math
from typing import Any, Iterator, Sequence

import numpy as np
import scipy.fft
import scipy.signal

from specsense_jax import portable_math
from specsense_jax import spectrogram
from specsense_jax.constants import CN0_KEY
from specsense_jax.constants import FRAME_S
from specsense_jax.constants import MODEL_RATE
from specsense_jax.constants import NO_LABEL
from specsense_jax.constants import SPREAD_KEY
from specsense_jax.io import recordings
from specsense_jax.signals import counter_rng
from specsense_jax.signals import polyphase

_MARGIN = 256    # input samples read beyond each frame edge (inside its segment) so the resampler has settled
_FLOOR_S = 0.1   # seconds at the start of a segment its noise floor is measured on
_FLOOR_BLOCKS = 16  # blocks of _FLOOR_BLOCK samples spread over them
_FLOOR_BLOCK = 256
_FRAME_LEN = int(round(FRAME_S * MODEL_RATE))


@dataclasses.dataclass
class Frame:
  """One spectrogram image ready for the network, with where it came from.

  `annotations` are in the frame's samples at `span_hz` and Hz relative to `center_frequency`, clipped to the
  recording's time and band; `label_mask` turns them into the frame's truth.
  """
  index: int
  image: np.ndarray            # uint8 (H, W, 3)
  start_s: float               # time of the frame's first row in the recording
  duration_s: float
  center_frequency: float      # Hz
  span_hz: float               # frequency span of the image (columns), also its sample rate
  valid_columns: np.ndarray    # bool (W,): columns inside the recording's band
  valid_rows: np.ndarray       # bool (H,): rows inside the recording's time
  annotations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
  recording: str = ''
  num_samples: int = _FRAME_LEN          # samples the image covers, at `span_hz`
  valid_fraction: float = 1.0            # share of those samples that came from the recording
  noise_floor_db: float | None = None    # floor of the fill (dB per Hz, full scale 0 dB); None without fill


@dataclasses.dataclass(frozen=True)
class FrameSpan:
  """Where frame `index` comes from: samples [first, last) of `segment`, imaged over `num_samples` samples at
  the model's rate, `valid` of which come from the recording (the rest is fill)."""
  index: int
  segment: recordings.Segment
  first: int
  last: int
  duration_s: float
  num_samples: int
  valid: int


def noise_floor_density(iq: np.ndarray, sample_rate: float) -> float:
  """Noise power spectral density (per Hz) of a recording: 1-D samples, or (blocks, length) blocks of it.

  Each frequency bin's median periodogram over time (divided by ln 2: the median of an exponential variable)
  estimates that bin's mean level; the quietest level smoothed over 5 bins, among bins away from DC and from the
  very band edges, finds the floor, and the mean level of the bins within 3 dB of it measures it. A carrier that
  fills most of the band still leaves its guard bands and idle time to measure.
  """
  iq = np.asarray(iq)
  if iq.ndim == 1:
    nperseg = int(min(512, max(64, len(iq) // 32), len(iq)))
    iq = iq[:len(iq) // nperseg * nperseg].reshape(-1, nperseg)
  nperseg = iq.shape[1]
  window = portable_math.hann(nperseg, sym=False)
  cells = portable_math.abs2(scipy.fft.fft(iq * window, axis=1)) / (sample_rate * np.sum(window ** 2))
  f = np.fft.fftfreq(nperseg, 1 / sample_rate)
  level = np.median(cells, axis=0) / portable_math.log(2.0)
  smooth = portable_math.convolve(level, np.ones(5) / 5, mode='same')
  keep = (np.abs(f) < 0.49 * sample_rate) & (np.abs(f) > 3 * sample_rate / nperseg)
  if not keep.any():
    keep = np.ones(nperseg, bool)
  # The quietest smoothed bin finds the floor; the mean of every bin near it measures it (a minimum over noisy
  # bins alone would sit below the floor when few blocks are read).
  near = keep & (smooth <= 2 * np.min(smooth[keep]))
  return float(np.mean(level[near]))


def band_columns(sample_rate: float, width: int) -> np.ndarray:
  """bool (W,): the image columns at the model's rate that a recording at `sample_rate` has band for."""
  column_freqs = (np.arange(width) + 0.5) * MODEL_RATE / width - MODEL_RATE / 2
  return np.abs(column_freqs) < min(sample_rate, MODEL_RATE) / 2


def shortest_frame(mode: str, size: tuple[int, int]) -> int:
  """Samples at the model's rate a spectrogram of `mode` and `size` needs at least."""
  height, width = size
  return spectrogram.MATLAB_WINDOW if mode == 'matlab' else height * spectrogram.average_nfft(width)


def _rate_ratio(sample_rate: float) -> fractions.Fraction:
  """MODEL_RATE / sample_rate as a fraction for the polyphase resampler (exactly 1 within 1 ppm)."""
  return polyphase.rate_ratio(MODEL_RATE, sample_rate, max_term=None)


def frame_spans(recording: recordings.Recording, mode: str = 'matlab', size: tuple[int, int] = (128, 128)
                ) -> Iterator[FrameSpan]:
  """The frames of a recording, segment by segment: whole 40 ms frames, then the segment's rest as a frame of
  its own length (at least `shortest_frame`)."""
  ratio = _rate_ratio(recording.sample_rate)
  whole_len = max(1, int(round(FRAME_S * recording.sample_rate)))
  index = 0
  for segment in recording.segments:
    whole = segment.count // whole_len
    for k in range(whole):
      first = segment.start + k * whole_len
      yield FrameSpan(index, segment, first, first + whole_len, FRAME_S, _FRAME_LEN,
                      min(_FRAME_LEN, int(round(whole_len * ratio))))
      index += 1
    first = segment.start + whole * whole_len
    if first < segment.end:
      valid = min(_FRAME_LEN, int(round((segment.end - first) * ratio)))
      num_samples = min(_FRAME_LEN, max(valid, shortest_frame(mode, size)))
      yield FrameSpan(index, segment, first, segment.end, num_samples / MODEL_RATE, num_samples, valid)
      index += 1


def floor_windows(count: int, sample_rate: float) -> tuple[np.ndarray, int]:
  """(starts, length) of the blocks a segment of `count` samples at `sample_rate` has its noise floor measured
  on: `_FLOOR_BLOCKS` blocks spread over its first `_FLOOR_S` seconds, relative to the segment's start."""
  length = min(count, _FLOOR_BLOCK)
  span = min(count, int(sample_rate * _FLOOR_S))
  return np.unique(np.linspace(0, span - length, _FLOOR_BLOCKS).astype(np.int64)), length


class _Fill:
  """Noise at each segment's measured floor from the counter-based generator, keyed by (name, seed, frame)."""

  def __init__(self, recording: recordings.Recording, seed: int):
    self._recording, self._seed = recording, seed
    self._floors: dict[int, float] = {}

  def floor(self, segment: recordings.Segment) -> float:
    """Noise density (per Hz) of the segment's first `_FLOOR_S` seconds, measured once on `_FLOOR_BLOCKS` blocks
    spread over them (a synthetic capture renders only those)."""
    if segment.start not in self._floors:
      starts, length = floor_windows(segment.count, self._recording.sample_rate)
      self._floors[segment.start] = noise_floor_density(self._recording.read_segments(segment.start + starts, length),
                                                        self._recording.sample_rate)
    return self._floors[segment.start]

  def noise(self, span: FrameSpan, indices: np.ndarray | None = None) -> np.ndarray:
    """complex64 noise of one frame at its segment's floor, at frame `indices` (all when None); sample i depends
    only on the recording's name, the seed, the frame index and i."""
    digest = hashlib.sha256(f'{self._recording.name}/{self._seed}/{span.index}'.encode()).digest()
    scale = math.sqrt(self.floor(span.segment) * MODEL_RATE)  # a Python float keeps complex64
    indices = np.arange(span.num_samples) if indices is None else indices
    return scale * counter_rng.complex_normal(int.from_bytes(digest[:8], 'little'), indices)


@functools.lru_cache(maxsize=4)
def _outside_band(num_samples: int, sample_rate: float) -> np.ndarray:
  """bool FFT bins of a model-rate frame that a recording at `sample_rate` has no band for (read-only)."""
  outside = np.abs(scipy.fft.fftfreq(num_samples, 1 / MODEL_RATE)) >= sample_rate / 2 * 0.98
  outside.flags.writeable = False
  return outside


def frame_iq(recording: recordings.Recording, span: FrameSpan, *, seed: int = 0) -> np.ndarray:
  """complex64 (span.num_samples,): a frame's samples at the model's rate, resampled and filled.

  A narrower recording's missing band gets noise at its floor; the samples after `span.valid` are that noise.
  `seed` selects the noise: the same recording, span and seed give the same bytes.
  """
  return _frame_iq(recording, span, _Fill(recording, seed))


def _frame_iq(recording: recordings.Recording, span: FrameSpan, fill: _Fill) -> np.ndarray:
  ratio = _rate_ratio(recording.sample_rate)
  iq = np.empty(span.num_samples, np.complex64)
  valid = span.valid
  if ratio == 1:
    iq[:valid] = recording.read(span.first, valid)
  else:
    lo, hi = max(span.segment.start, span.first - _MARGIN), min(span.segment.end, span.last + _MARGIN)
    resampled = scipy.signal.resample_poly(recording.read(lo, hi - lo), ratio.numerator, ratio.denominator)
    offset = int(round((span.first - lo) * ratio))
    piece = resampled[offset:offset + valid]
    iq[:len(piece)] = piece
    valid = len(piece)  # a rounding sample short at a segment's end becomes fill
  narrow = recording.sample_rate < MODEL_RATE and ratio != 1
  if narrow or valid < span.num_samples:
    noise = fill.noise(span)
    if narrow:  # frequency fill: noise only where the recording has no band
      iq[:valid] += scipy.fft.ifft(scipy.fft.fft(noise) * _outside_band(span.num_samples, recording.sample_rate)
                                   )[:valid]
    iq[valid:] = noise[valid:]
  return iq


def _window_iq(recording: recordings.Recording, span: FrameSpan, fill: _Fill, starts: np.ndarray,
               length: int) -> np.ndarray:
  """complex64 (len(starts), length): the frame's samples at the model's rate in windows [s, s + length), made
  from the recording samples those windows need (a polyphase resampler evaluated at their instants) and filled:
  each window's band outside the recording's gets floor noise (masked in the window's own DFT), and samples after
  `span.valid` are floor noise. Equals no whole-frame resampling bit for bit, but any recording whose `read_segments`
  agrees with its `read` gives the same windows however it is read."""
  ratio = _rate_ratio(recording.sample_rate)
  index = starts[:, None] + np.arange(length)
  if ratio == 1 and index.max() < span.valid:
    out = recording.read_segments(span.first + starts, length)
  elif ratio == 1:  # a short frame: its recorded part, then fill
    out = np.zeros(index.shape, np.complex64)
    inside = index < span.valid
    out[inside] = recording.read(span.first, span.valid)[index[inside]]
  else:
    lowpass = polyphase.resampler(ratio, passband=0.94)
    positions = index * ratio.denominator  # on the grid of `ratio.numerator` per recording sample
    lo, hi = lowpass.input_spans(positions)
    need = int(np.max(hi - lo))
    seg_lo, seg_hi = span.segment.start - span.first, span.segment.end - span.first  # frame-relative segment
    if need > seg_hi - seg_lo:  # a segment shorter than the filter: read it whole
      first = np.full(len(lo), seg_lo)
      need = seg_hi - seg_lo
    else:
      first = np.clip(lo, seg_lo, seg_hi - need)
    block = recording.read_segments(span.first + first, need)
    # Samples outside the segment are zero, as the resampler assumes.
    block_index = first[:, None] + np.arange(need)
    block[(block_index < seg_lo) | (block_index >= seg_hi)] = 0
    out = lowpass.at(block.ravel(), np.repeat(first - np.arange(len(first)) * need, length),
                     positions.ravel()).reshape(index.shape)
  narrow = recording.sample_rate < MODEL_RATE and ratio != 1
  valid = index < span.valid
  if narrow or not valid.all():
    noise = fill.noise(span, index.ravel()).reshape(index.shape)
    if narrow:  # frequency fill: noise only where the recording has no band
      out = out + scipy.fft.ifft(scipy.fft.fft(noise, axis=1) * _outside_band(length, recording.sample_rate),
                                 axis=1).astype(np.complex64)
    out = np.where(valid, out, noise)
  return out.astype(np.complex64)


def _frame_annotations(recording: recordings.Recording, span: FrameSpan) -> list[dict[str, Any]]:
  """The recording's annotations clipped to the frame's time and the band it images, in frame samples."""
  ratio = float(_rate_ratio(recording.sample_rate))
  half = min(recording.sample_rate, MODEL_RATE) / 2
  out = []
  for ann in recording.annotations:
    s0, s1 = max(ann['sample_start'], span.first), min(ann['sample_start'] + ann['sample_count'], span.last)
    f_lo, f_hi = max(ann['freq_lower_edge'], -half), min(ann['freq_upper_edge'], half)
    if s1 <= s0 or f_hi <= f_lo:
      continue
    start = int(round((s0 - span.first) * ratio))
    end = min(span.num_samples, int(round((s1 - span.first) * ratio)))
    item = {'label': ann['label'], 'freq_lower_edge': f_lo, 'freq_upper_edge': f_hi, 'sample_start': start,
            'sample_count': max(1, end - start)}
    for key in (CN0_KEY, SPREAD_KEY):  # how far a packet or pulse stands over the noise (rate-independent, Hz)
      if key in ann:
        item[key] = ann[key]
    if ann.get('occupancy') is not None:  # occupied cells, clipped the same way
      cells = np.array(ann['occupancy'], np.float64).reshape(-1, 4)
      c0 = np.maximum(cells[:, 0], span.first)
      c1 = np.minimum(cells[:, 0] + cells[:, 1], span.last)
      lo, hi = np.maximum(cells[:, 2], -half), np.minimum(cells[:, 3], half)
      keep = (c1 > c0) & (hi > lo)
      item['occupancy'] = np.stack([(c0 - span.first) * ratio, (c1 - c0) * ratio, lo, hi], axis=1)[keep]
    out.append(item)
  return out


def recording_frames(recording: recordings.Recording, size: tuple[int, int] = (128, 128), mode: str = 'matlab',
                     colormap: str = 'parula', *, seed: int = 0, scaling: str = 'minmax') -> Iterator[Frame]:
  """The recording's frames (see the module docstring) as images at the model's rate, one at a time.

  Args:
    recording: any `recordings.Recording`.
    size: (height, width) of the images.
    mode: spectrogram mode, one of `spectrogram.SPECTROGRAM_MODES`.
    colormap: 'parula' or 'gray'.
    seed: selects the fill noise; the same recording and seed give the same images.
    scaling: grey-level scaling, one of `spectrogram.SCALINGS` ('minmax' is MATLAB's).

  Yields:
    `Frame`s with their annotations, valid rows and columns, in recording order.
  """
  if mode not in spectrogram.SPECTROGRAM_MODES:
    raise ValueError(f'--mode must be one of {spectrogram.SPECTROGRAM_MODES}, got {mode!r}')
  height, width = size
  rate = recording.sample_rate
  fast = _rate_ratio(rate) == 1
  valid_columns = band_columns(rate, width)
  fill = _Fill(recording, seed)
  for span in frame_spans(recording, mode, size):
    filled = span.valid < span.num_samples or not fast and rate < MODEL_RATE
    if mode == 'matlab':
      starts = spectrogram.matlab_segment_starts(span.num_samples, height)
      valid_rows = starts + spectrogram.MATLAB_WINDOW <= span.valid
      segments = _window_iq(recording, span, fill, starts, spectrogram.MATLAB_WINDOW)
      filled = filled and (not fast or not valid_rows.all())
      psd = spectrogram.matlab_psd_db_from_segments(segments, MODEL_RATE, width)
    elif fast and span.valid == span.num_samples:  # read as the FFT segments (no whole-frame copy)
      segments = recording.read_segments(
          span.first + spectrogram.average_segment_starts(span.num_samples, height, width),
          spectrogram.average_nfft(width))
      psd = spectrogram.average_psd_db_from_segments(segments, MODEL_RATE, height, width)
      valid_rows = np.ones(height, bool)
    else:
      psd = spectrogram.spectrogram_db(_frame_iq(recording, span, fill), MODEL_RATE, size, 'average')
      valid_rows = (np.arange(height) + 0.5) / height <= span.valid / span.num_samples
    image = spectrogram.colorize(spectrogram.grey_levels(psd, scaling), colormap)
    yield Frame(span.index, image, span.first / rate, span.duration_s, span.segment.center_frequency, MODEL_RATE,
                valid_columns, valid_rows, _frame_annotations(recording, span), recording.name, span.num_samples,
                span.valid / span.num_samples,
                portable_math.power_to_db(max(fill.floor(span.segment), 1e-30)) if filled else None)


def label_mask(frame: Frame, mode: str = 'band', spectrogram_mode: str = 'matlab') -> np.ndarray:
  """uint8 (H, W) truth of a frame from its annotations: class ids where the recording has data (Noise where
  nothing is annotated), `NO_LABEL` in the columns outside its band and the rows after its end.

  Args:
    frame: a frame of `recording_frames`.
    mode: 'band' (each annotation's band over its time) or 'occupancy' (its occupied cells where it has them).
    spectrogram_mode: the image's mode (which samples a row shows, for occupancy cells).
  """
  mask = spectrogram.label_mask(frame.annotations, frame.span_hz, frame.num_samples, frame.image.shape[:2], mode,
                                spectrogram_mode=spectrogram_mode)
  mask[:, ~frame.valid_columns] = NO_LABEL
  mask[~frame.valid_rows] = NO_LABEL
  return mask


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
    yield Frame(k, pixels, 0.0, FRAME_S, 0.0, MODEL_RATE, np.ones(size[1], bool), np.ones(size[0], bool),
                recording=path)
