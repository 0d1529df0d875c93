"""Recordings: one `Recording` protocol, one implementation per source, samples read on demand.

Sources: SigMF (a `.sigmf-meta` beside its dataset, a non-conforming dataset named by `core:dataset`, or a
`.sigmf` / `.sigmf.gz` / `.sigmf.xz` / `.sigmf.zip` archive, opened and their metadata checked by
`sigmf_metadata`), a headerless raw IQ file (ci8 / ci16 / cf32 with a given sample rate), a complex `.npy` array,
and a slice of any of these.
All but the slice store interleaved I/Q components and share `InterleavedRecording`: each read maps only the
samples asked for, and `read_segments` serves a spectrogram's few hundred short segments from one mapping.

Annotations are framework-shaped: label, freq_lower_edge / freq_upper_edge in Hz relative to the centre
frequency of the capture segment they lie in, sample_start, sample_count. A capture segment is a run of
samples recorded continuously at one centre frequency: a SigMF capture that changes `core:frequency`, or
whose `core:global_index` does not follow on from the previous capture's, starts a new one. Annotations never
cross segments (one that does is split at the boundary).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Protocol, runtime_checkable
import warnings

import numpy as np

from specsense_jax.io import sigmf_metadata
from specsense_jax.io.sigmf import canonical_datatype
from specsense_jax.io.sigmf import DATATYPES
from specsense_jax.io.sigmf import file_paths
from specsense_jax.io.sigmf import SigMFError
from specsense_jax.io.sigmf_metadata import Segment

RAW_DTYPES = {'ci8': 'ci8', 'ci16': 'ci16_le', 'cf32': 'cf32_le'}
ARCHIVE_SUFFIXES = ('.sigmf', '.sigmf.gz', '.sigmf.xz', '.sigmf.zip')


@runtime_checkable
class Recording(Protocol):
  """What every source of complex samples offers; samples are complex64 at full scale ±1."""
  name: str                            # short name (file name without its suffix)
  path: str                            # the file it came from, named in errors
  sample_rate: float                   # samples per second
  num_samples: int
  annotations: list[dict[str, Any]]    # framework-shaped, see the module docstring
  segments: tuple[Segment, ...]        # capture segments, in order, covering every sample

  @property
  def center_frequency(self) -> float:
    """Hz, of the first capture segment."""

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    """complex64 samples [start, start + count) (to the end when `count` is None)."""

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    """complex64 (len(starts), length): the samples [s, s + length) for each s in `starts`."""


class InterleavedRecording:
  """A recording whose samples are interleaved I/Q components in a file (memory-mapped) or a buffer.

  The data may be stored in chunks (a non-conforming dataset's per-capture headers): sample `chunk_starts[k]`
  is at byte `chunk_bytes[k]`, and the chunk's samples follow it contiguously.
  """
  error: type[ValueError] = ValueError  # the error type reads raise; SigMF recordings raise SigMFError

  def __init__(self, *, name: str, path: str, data_path: str, component: str, scale: float | None,
               sample_rate: float, num_samples: int, segments: tuple[Segment, ...],
               annotations: list[dict[str, Any]] | None = None, chunk_starts=(0,), chunk_bytes=(0,),
               buffer: memoryview | None = None):
    self.name, self.path, self.data_path = name, path, data_path
    self.sample_rate, self.num_samples = float(sample_rate), int(num_samples)
    self.segments = segments
    self.annotations = list(annotations or [])
    self._component, self._scale, self._buffer = np.dtype(component), scale, buffer
    self._sample_bytes = 2 * self._component.itemsize
    self._chunk_starts = np.asarray(chunk_starts, np.int64)
    self._chunk_bytes = np.asarray(chunk_bytes, np.int64)

  @property
  def center_frequency(self) -> float:
    """Hz, of the first capture segment."""
    return self.segments[0].center_frequency

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    """complex64 samples [start, start + count), scaled to full scale ±1 for integer types."""
    count = self.num_samples - start if count is None else count
    self._check_span(start, start + count)
    return self._to_complex(self._pairs(start, start + count), start)

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    """complex64 (len(starts), length): the segments [s, s + length) for s in `starts`, from one mapping
    (a spectrogram's few hundred short segments cost one file mapping, not one each)."""
    starts = np.asarray(starts, np.int64)
    for start in starts[(starts < 0) | (starts + length > self.num_samples)][:1]:
      self._check_span(int(start), int(start) + length)
    lo, hi = int(starts.min()), int(starts.max()) + length
    pairs = self._read_windows(starts, length, hi - lo)
    if pairs is None:  # row copies from one mapping of the span
      flat = self._pairs(lo, hi).reshape(-1)
      pairs = np.lib.stride_tricks.sliding_window_view(flat, 2 * length)[2 * (starts - lo)].reshape(-1, length, 2)
    return self._to_complex(pairs, lo)

  def _read_windows(self, starts: np.ndarray, length: int, span: int) -> np.ndarray | None:
    """(len(starts), length, 2) components read window by window from the file (a mapping costs a page fault per
    window: 4x the time for matlab mode's); None for windows dense in their `span`, data in a buffer, a window
    across a chunk boundary, or no positioned reads on this platform."""
    chunk = np.searchsorted(self._chunk_starts, starts, 'right') - 1
    if (4 * len(starts) * length >= span or self._buffer is not None or not hasattr(os, 'preadv')
        or np.any(chunk != np.searchsorted(self._chunk_starts, starts + length - 1, 'right') - 1)):
      return None
    offsets = self._chunk_bytes[chunk] + (starts - self._chunk_starts[chunk]) * self._sample_bytes
    out = np.empty((len(starts), length, 2), self._component)
    window_bytes = length * self._sample_bytes
    view = memoryview(out.reshape(-1).view(np.uint8))
    fd = os.open(self.data_path, os.O_RDONLY)
    try:
      for k, offset in enumerate(offsets.tolist()):
        if os.preadv(fd, [view[k * window_bytes:(k + 1) * window_bytes]], offset) != window_bytes:
          raise self.error(f'{self.data_path}: file ends before byte {offset + window_bytes}, which its '
                           'metadata says it holds (truncated?)')
    finally:
      os.close(fd)
    return out

  def _check_span(self, start: int, end: int) -> None:
    if start < 0 or end < start or end > self.num_samples:
      raise self.error(f'{self.data_path}: samples [{start}, {end}) are outside the recording '
                       f'(0..{self.num_samples})')

  def _pairs(self, lo: int, hi: int) -> np.ndarray:
    """(hi - lo, 2) I/Q components of samples [lo, hi), mapped (not read) where they are contiguous."""
    first = int(np.searchsorted(self._chunk_starts, lo, 'right')) - 1
    last = int(np.searchsorted(self._chunk_starts, max(hi - 1, lo), 'right')) - 1
    pieces = []
    for k in range(first, last + 1):
      a = max(lo, int(self._chunk_starts[k]))
      b = min(hi, int(self._chunk_starts[k + 1]) if k < len(self._chunk_starts) - 1 else hi)
      pieces.append(self._map(int(self._chunk_bytes[k]) + (a - int(self._chunk_starts[k])) * self._sample_bytes,
                              b - a))
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

  def _map(self, byte: int, count: int) -> np.ndarray:
    if count == 0:
      return np.zeros((0, 2), self._component)
    if self._buffer is not None:
      return np.frombuffer(self._buffer, self._component, count=2 * count, offset=byte).reshape(-1, 2)
    return np.memmap(self.data_path, dtype=self._component, mode='r', offset=byte,
                     shape=(2 * count,)).reshape(-1, 2)

  def _to_complex(self, pairs: np.ndarray, start: int) -> np.ndarray:
    """(..., 2) I/Q components -> complex64 (...), scaled; non-finite float samples raise (index from `start`)."""
    if self._scale:  # integers: convert and scale in one pass (1/scale is a power of two: exact, as a division)
      iq = np.empty(pairs.shape[:-1], np.complex64)
      np.multiply(pairs, np.float32(1.0 / self._scale), out=iq.view(np.float32).reshape(pairs.shape),
                  dtype=np.float32)
      return iq
    iq = np.ascontiguousarray(pairs, np.float32).view(np.complex64)[..., 0]  # one pass, no temporaries
    if not np.all(np.isfinite(iq)):
      bad = int(np.flatnonzero(~np.isfinite(iq.reshape(-1)))[0])
      where = f'at index {bad + start}' if iq.ndim == 1 else f'in the segments read from index {start}'
      raise self.error(f'{self.data_path}: non-finite sample (NaN or Inf) {where}')
    return iq


class SigMFRecording(InterleavedRecording):
  """A SigMF recording: `metadata` is its whole metadata document, `datatype` its canonical datatype.

  Sample indices are relative to the dataset's first sample: SigMF's absolute indices minus `core:offset`.
  """
  error = SigMFError

  def __init__(self, *, datatype: str, metadata: dict[str, Any], **kwargs):
    component, scale = DATATYPES[datatype]
    super().__init__(component=component, scale=scale, **kwargs)
    self.datatype, self.metadata = datatype, metadata


class RawRecording(InterleavedRecording):
  """A headerless interleaved IQ file: ci8, ci16 or cf32 (little-endian) at a given sample rate."""

  def __init__(self, path: str, sample_rate: float | None, dtype: str | None, center_frequency: float = 0.0):
    if dtype not in RAW_DTYPES:
      raise ValueError(f'{path}: --dtype must be one of {sorted(RAW_DTYPES)}, got {dtype!r}')
    if not sample_rate or sample_rate <= 0:
      raise ValueError(f'{path}: raw IQ needs --sample_rate (samples per second), got {sample_rate!r}')
    self.datatype = RAW_DTYPES[dtype]
    component, scale = DATATYPES[self.datatype]
    sample_bytes = 2 * np.dtype(component).itemsize
    size = os.path.getsize(path)
    if size % sample_bytes or size == 0:
      raise ValueError(f'{path}: {size} bytes is not a whole number of {dtype} samples ({sample_bytes} bytes '
                       'each): truncated file or wrong --dtype')
    num_samples = size // sample_bytes
    super().__init__(name=os.path.splitext(os.path.basename(path))[0], path=path, data_path=path,
                     component=component, scale=scale, sample_rate=sample_rate, num_samples=num_samples,
                     segments=(Segment(0, num_samples, float(center_frequency)),))


class ArrayRecording(InterleavedRecording):
  """A 1-D complex `.npy` array (complex64 or complex128, either byte order), memory-mapped."""

  def __init__(self, path: str, sample_rate: float | None, center_frequency: float = 0.0):
    if not sample_rate or sample_rate <= 0:
      raise ValueError(f'{path}: a .npy recording needs --sample_rate, got {sample_rate!r}')
    try:
      array = np.load(path, mmap_mode='r')
    except Exception as e:  # numpy raises several types for corrupt files
      raise ValueError(f'{path}: not a readable .npy array ({e})') from None
    if not isinstance(array, np.memmap):
      raise ValueError(f'{path}: expected one array in a .npy file, got {type(array).__name__}')
    if array.ndim != 1 or not np.iscomplexobj(array) or not len(array):
      raise ValueError(f'{path}: expected a non-empty 1-D complex array, got {array.dtype} {array.shape}')
    component = array.dtype.byteorder.replace('|', '=') + f'f{array.dtype.itemsize // 2}'
    super().__init__(name=os.path.splitext(os.path.basename(path))[0], path=path, data_path=path,
                     component=component, scale=None, sample_rate=sample_rate, num_samples=len(array),
                     segments=(Segment(0, len(array), float(center_frequency)),), chunk_bytes=(array.offset,))


class SliceRecording:
  """Samples [start, start + count) of a recording, readable like one (segments and annotations clipped)."""

  def __init__(self, recording: Recording, start: int, count: int):
    if start < 0 or count < 1 or start + count > recording.num_samples:
      raise ValueError(f'{recording.path}: a slice [{start}, {start + count}) must lie inside the recording '
                       f'(0..{recording.num_samples}) and hold at least one sample')
    self._recording, self._start = recording, start
    self.path, self.name = recording.path, f'{recording.name}@{start}'
    self.sample_rate, self.num_samples = recording.sample_rate, count
    self.segments = tuple(Segment(max(s.start, start) - start, min(s.end, start + count) - max(s.start, start),
                                  s.center_frequency)
                          for s in recording.segments if s.end > start and s.start < start + count)
    self.annotations = []
    for ann in recording.annotations:
      lo = max(ann['sample_start'], start)
      hi = min(ann['sample_start'] + ann['sample_count'], start + count)
      if hi > lo:
        self.annotations.append({**ann, 'sample_start': lo - start, 'sample_count': hi - lo})

  @property
  def center_frequency(self) -> float:
    """Hz, of the slice's first capture segment."""
    return self.segments[0].center_frequency

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    """complex64 samples [start, start + count) of the slice."""
    count = self.num_samples - start if count is None else count
    if start < 0 or count < 0 or start + count > self.num_samples:
      raise ValueError(f'{self.path}: samples [{start}, {start + count}) outside the slice of '
                       f'{self.num_samples}')
    return self._recording.read(self._start + start, count)

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    """complex64 (len(starts), length) segments of the slice."""
    starts = np.asarray(starts, np.int64)
    if len(starts) and (starts.min() < 0 or starts.max() + length > self.num_samples):
      raise ValueError(f'{self.path}: segments of {length} samples from {starts.min()}..{starts.max()} reach '
                       f'outside the slice of {self.num_samples}')
    return self._recording.read_segments(starts + self._start, length)


def read_recording(path: str | os.PathLike) -> SigMFRecording:
  """Opens a SigMF recording through the `sigmf` package and checks it.

  Args:
    path: `x.sigmf-meta` (beside `x.sigmf-data`, or beside the non-conforming dataset its `core:dataset`
      names), `x.sigmf-data`, `x` (either of those, or the archive `x.sigmf`), or an archive
      `x.sigmf` / `x.sigmf.gz` / `x.sigmf.xz` / `x.sigmf.zip`.

  Raises:
    SigMFError: naming the file, for a missing file, invalid JSON or schema, an unsupported datatype, more
      than one channel, a data length that is not whole samples or disagrees with the metadata, a bad
      sample rate, captures or annotations outside the recording.
  """
  path = os.fspath(path)
  meta_path, data_path = file_paths(path)
  archive = path if path.endswith(ARCHIVE_SUFFIXES) else None
  if archive is None and not os.path.isfile(meta_path) and os.path.isfile(meta_path[:-len('-meta')]):
    archive = meta_path[:-len('-meta')]  # `x` given and only the archive `x.sigmf` exists
  with warnings.catch_warnings():  # the package warns about what the checks below turn into errors
    warnings.simplefilter('ignore')
    if archive is not None:
      source = sigmf_metadata.open_archive(archive)
    else:
      source = sigmf_metadata.open_pair(meta_path, data_path)
  return _recording_from(source)


def _recording_from(source: sigmf_metadata.Source) -> SigMFRecording:
  """The checked recording of an opened source: sample count, capture segments and annotations."""
  info, meta_path, data_path = source.metadata['global'], source.meta_path, source.data_path
  datatype = canonical_datatype(info['core:datatype'], meta_path)
  sample_bytes = 2 * np.dtype(DATATYPES[datatype][0]).itemsize
  offset = int(info.get('core:offset', 0))
  captures = sorted(source.handle.get_captures(), key=lambda c: c['core:sample_start'])
  captures = captures or [{'core:sample_start': offset}]
  later_headers = [int(c.get('core:header_bytes', 0)) for c in captures[1:]]
  data_bytes = source.data_bytes - sum(later_headers)
  if data_bytes < 0 or data_bytes % sample_bytes:
    raise SigMFError(f'{data_path}: {data_bytes} bytes is not a whole number of {datatype} samples '
                     f'({sample_bytes} bytes each); the file is truncated or the datatype is wrong')
  num_samples = data_bytes // sample_bytes
  declared = info.get('specsense:num_samples')
  if declared is not None and declared != num_samples:
    raise SigMFError(f'{data_path}: holds {num_samples} samples but the metadata declares {declared} '
                     '(truncated file, or wrong datatype or sample rate in the metadata)')
  if num_samples == 0:
    raise SigMFError(f'{data_path}: holds no samples')
  starts = [int(c['core:sample_start']) - offset for c in captures]
  if starts[0] < 0 or starts[-1] >= num_samples:
    raise SigMFError(f'{meta_path}: captures start at samples {starts[0] + offset}..{starts[-1] + offset}; with '
                     f'core:offset {offset} they must lie in [{offset}, {offset + num_samples})')
  starts[0] = 0  # samples before the first capture's start belong to it
  chunk_bytes = source.first_byte + np.asarray(starts, np.int64) * sample_bytes + np.cumsum([0] + later_headers)
  segments = sigmf_metadata.capture_segments(captures, starts, num_samples)
  annotations = sigmf_metadata.framework_annotations(source.handle.get_annotations(), offset, num_samples, segments,
                                                     meta_path)
  return SigMFRecording(datatype=datatype, metadata=source.metadata, name=recording_name(meta_path), path=meta_path,
                        data_path=data_path, sample_rate=float(info['core:sample_rate']), num_samples=num_samples,
                        segments=segments, annotations=annotations, chunk_starts=starts, chunk_bytes=chunk_bytes,
                        buffer=source.buffer)


def recording_name(path: str) -> str:
  """A recording's name: its file name without the SigMF suffix (`x` for `x.sigmf-meta` or `x.sigmf.gz`)."""
  base = os.path.basename(path)
  for suffix in ('.sigmf-meta', '.sigmf-data') + ARCHIVE_SUFFIXES[::-1]:
    if base.endswith(suffix):
      return base[:-len(suffix)]
  return base


def open_recording(path: str, *, sample_rate: float | None = None, dtype: str | None = None,
                   center_frequency: float | None = None) -> Recording:
  """Opens any supported recording (see the module docstring) by its suffix.

  Args:
    path: a SigMF file or archive (or its base name), a `.npy` array, or a raw IQ file.
    sample_rate: samples per second; required for `.npy` and raw IQ, checked against SigMF metadata.
    dtype: raw IQ only: one of RAW_DTYPES.
    center_frequency: Hz; overrides a SigMF recording's (single) centre frequency.

  Raises:
    ValueError: naming the file, for a missing or unreadable file or a parameter it contradicts.
  """
  path = os.fspath(path)
  sigmf_suffixes = ('.sigmf-meta', '.sigmf-data') + ARCHIVE_SUFFIXES
  if not any(os.path.exists(path + suffix) for suffix in ('', '.sigmf-meta', '.sigmf')):
    raise ValueError(f'{path}: file not found')
  if path.endswith(sigmf_suffixes) or any(os.path.exists(path + s) for s in ('.sigmf-meta', '.sigmf')):
    recording = read_recording(path)
    if sample_rate and abs(sample_rate - recording.sample_rate) > 1e-6 * recording.sample_rate:
      raise ValueError(f'{recording.path}: --sample_rate {sample_rate:g} disagrees with the metadata\'s '
                       f'{recording.sample_rate:g}')
    if center_frequency is not None:
      if len({s.center_frequency for s in recording.segments}) > 1:
        raise ValueError(f'{recording.path}: its captures have several centre frequencies; '
                         '--center_frequency can only replace a single one')
      recording.segments = tuple(dataclasses.replace(s, center_frequency=float(center_frequency))
                                 for s in recording.segments)
    return recording
  if path.endswith('.npy'):
    return ArrayRecording(path, sample_rate, center_frequency or 0.0)
  if dtype is None:
    raise ValueError(f'{path}: a raw IQ file needs --dtype ({"/".join(RAW_DTYPES)}) and --sample_rate')
  return RawRecording(path, sample_rate, dtype, center_frequency or 0.0)
