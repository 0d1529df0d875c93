"""Recordings: SigMF files, raw IQ files, complex .npy arrays and slices of them, read on demand.

Every recording has `sample_rate`, `center_frequency`, `num_samples`, `name`, `annotations` (framework-shaped:
label, freq_lower_edge / freq_upper_edge in Hz relative to the centre, sample_start, sample_count), and
`read(start, count)` / `read_segments(starts, length)` returning complex64 samples scaled to full scale ±1.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np
from sigmf import sigmffile

from specsense_jax.io.sigmf import _paths
from specsense_jax.io.sigmf import canonical_datatype
from specsense_jax.io.sigmf import DATATYPES
from specsense_jax.io.sigmf import SigMFError

RAW_DTYPES = {'ci8': 'ci8', 'ci16': 'ci16_le', 'cf32': 'cf32_le'}


@dataclasses.dataclass
class SigMFRecording:
  """A SigMF recording opened for reading (samples are memory-mapped, read on demand).

  Attributes:
    path: the .sigmf-meta path.
    data_path: the .sigmf-data path.
    datatype: canonical datatype.
    sample_rate: samples per second.
    center_frequency: Hz (0 when the metadata gives none).
    num_samples: complex samples in the data file.
    annotations: framework-shaped annotations (frequencies relative to the centre).
    metadata: the whole metadata document.
  """
  path: str
  data_path: str
  datatype: str
  sample_rate: float
  center_frequency: float
  num_samples: int
  annotations: list[dict[str, Any]]
  metadata: dict[str, Any]

  @property
  def name(self) -> str:
    return os.path.basename(self.path)[:-len('.sigmf-meta')]

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    """complex64 samples [start, start + count), scaled to full scale ±1 for integer types."""
    count = self.num_samples - start if count is None else count
    self._check_span(start, start + count)
    component, _ = DATATYPES[self.datatype]
    raw = np.memmap(self.data_path, dtype=component, mode='r', offset=2 * start * np.dtype(component).itemsize,
                    shape=(2 * count,)) if count else np.zeros(0, component)
    return self._to_complex(raw.reshape(-1, 2), start)

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    """complex64 (len(starts), length): the segments [s, s + length) for s in `starts`, from one mapping
    (a spectrogram's few hundred short segments cost one file mapping, not one each)."""
    starts = np.asarray(starts, np.int64)
    for start in starts[(starts < 0) | (starts + length > self.num_samples)][:1]:
      self._check_span(int(start), int(start) + length)
    lo, hi = int(starts.min()), int(starts.max()) + length
    component, _ = DATATYPES[self.datatype]
    raw = np.memmap(self.data_path, dtype=component, mode='r', offset=2 * lo * np.dtype(component).itemsize,
                    shape=(2 * (hi - lo),)).reshape(-1, 2)
    return self._to_complex(raw[(starts - lo)[:, None] + np.arange(length)], lo)

  def _check_span(self, start: int, end: int) -> None:
    if start < 0 or end < start or end > self.num_samples:
      raise SigMFError(f'{self.data_path}: samples [{start}, {end}) are outside the recording '
                       f'(0..{self.num_samples})')

  def _to_complex(self, pairs: np.ndarray, start: int) -> np.ndarray:
    """(..., 2) I/Q components -> complex64 (...), scaled; non-finite float samples raise (index from `start`)."""
    _, scale = DATATYPES[self.datatype]
    iq = np.ascontiguousarray(pairs, np.float32).view(np.complex64)[..., 0]  # one pass, no temporaries
    if scale:
      iq /= np.float32(scale)
    elif not np.all(np.isfinite(iq)):
      bad = int(np.flatnonzero(~np.isfinite(iq.reshape(-1)))[0])
      where = f'at index {bad + start}' if iq.ndim == 1 else f'in the segments read from index {start}'
      raise SigMFError(f'{self.data_path}: non-finite sample (NaN or Inf) {where}')
    return iq



def read_recording(path: str) -> SigMFRecording:
  """Opens a SigMF recording (`x.sigmf-meta` beside `x.sigmf-data`) and checks it.

  Raises:
    SigMFError: naming the file, for a missing file, invalid JSON or schema, an unsupported datatype, a data
      length that is not whole samples or disagrees with the metadata, a bad sample rate, or annotations
      outside the recording.
  """
  meta_path, data_path = _paths(path)
  for p in (meta_path, data_path):
    if not os.path.isfile(p):
      raise SigMFError(f'{p}: file not found')
  try:
    with open(meta_path) as f:
      metadata = json.load(f)
  except json.JSONDecodeError as e:
    raise SigMFError(f'{meta_path}: not valid JSON ({e})') from None
  info = metadata.get('global', {}) if isinstance(metadata, dict) else {}
  datatype = canonical_datatype(info.get('core:datatype'), meta_path)
  sample_rate = info.get('core:sample_rate')
  if not isinstance(sample_rate, (int, float)) or not np.isfinite(sample_rate) or sample_rate <= 0:
    raise SigMFError(f'{meta_path}: core:sample_rate must be a positive number, got {sample_rate!r}')
  try:
    sigmffile.SigMFFile(metadata=metadata).validate()
  except Exception as e:  # the sigmf package raises several error types
    raise SigMFError(f'{meta_path}: invalid SigMF metadata ({str(e).splitlines()[0]})') from None
  sample_bytes = 2 * np.dtype(DATATYPES[datatype][0]).itemsize
  size = os.path.getsize(data_path)
  if size % sample_bytes:
    raise SigMFError(f'{data_path}: {size} bytes is not a whole number of {datatype} samples '
                     f'({sample_bytes} bytes each); the file is truncated or the datatype is wrong')
  num_samples = size // sample_bytes
  declared = info.get('specsense:num_samples')
  if declared is not None and declared != num_samples:
    raise SigMFError(f'{data_path}: holds {num_samples} samples but the metadata declares {declared} '
                     '(truncated file, or wrong datatype or sample rate in the metadata)')
  captures = metadata.get('captures') or [{}]
  centre = float(captures[0].get('core:frequency', 0.0))
  if any(float(c.get('core:frequency', centre)) != centre for c in captures):
    raise SigMFError(f'{meta_path}: captures at different centre frequencies are not supported')
  annotations = []
  for i, ann in enumerate(metadata.get('annotations', [])):
    start = int(ann['core:sample_start'])
    count = int(ann.get('core:sample_count', num_samples - start))
    if start < 0 or count < 0 or start + count > num_samples:
      raise SigMFError(f'{meta_path}: annotation {i} covers samples [{start}, {start + count}), outside the '
                       f'recording (0..{num_samples})')
    lo, hi = ann.get('core:freq_lower_edge'), ann.get('core:freq_upper_edge')
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
      raise SigMFError(f'{meta_path}: annotation {i} needs finite core:freq_lower_edge <= core:freq_upper_edge, '
                       f'got {lo!r}, {hi!r}')
    annotations.append({'label': str(ann.get('core:label', 'Unknown')), 'freq_lower_edge': lo - centre,
                        'freq_upper_edge': hi - centre, 'sample_start': start, 'sample_count': count})
  return SigMFRecording(meta_path, data_path, datatype, float(sample_rate), centre, num_samples, annotations,
                   metadata)



class RawRecording:
  """A headerless interleaved IQ file, read on demand like `Recording`."""

  def __init__(self, path: str, sample_rate: float, dtype: str, center_frequency: float):
    if dtype not in RAW_DTYPES:
      raise ValueError(f'{path}: --dtype must be one of {sorted(RAW_DTYPES)}, got {dtype!r}')
    if not sample_rate or sample_rate <= 0:
      raise ValueError(f'{path}: raw IQ needs --sample_rate (samples per second), got {sample_rate!r}')
    self.path = self.data_path = path
    self.datatype = RAW_DTYPES[dtype]
    component, _ = DATATYPES[self.datatype]
    sample_bytes = 2 * np.dtype(component).itemsize
    size = os.path.getsize(path)
    if size % sample_bytes or size == 0:
      raise ValueError(f'{path}: {size} bytes is not a whole number of {dtype} samples ({sample_bytes} bytes '
                       'each): truncated file or wrong --dtype')
    self.sample_rate, self.center_frequency = float(sample_rate), float(center_frequency)
    self.num_samples = size // sample_bytes
    self.annotations: list[dict[str, Any]] = []
    self.name = os.path.splitext(os.path.basename(path))[0]

  read = SigMFRecording.read
  read_segments = SigMFRecording.read_segments
  _check_span = SigMFRecording._check_span  # pylint: disable=protected-access
  _to_complex = SigMFRecording._to_complex  # pylint: disable=protected-access



class ArrayRecording:
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



class SliceRecording:
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



def open_recording(path: str, *, sample_rate: float | None = None, dtype: str | None = None,
                   center_frequency: float | None = None):
  """A readable recording (`read(start, count)`, `sample_rate`, `num_samples`, `center_frequency`, `name`)."""
  if not os.path.exists(path) and not os.path.exists(path + '.sigmf-meta'):
    raise ValueError(f'{path}: file not found')
  if path.endswith(('.sigmf-meta', '.sigmf-data', '.sigmf')) or os.path.exists(path + '.sigmf-meta'):
    recording = read_recording(path)
    if sample_rate and abs(sample_rate - recording.sample_rate) > 1e-6 * recording.sample_rate:
      raise ValueError(f'{recording.path}: --sample_rate {sample_rate:g} disagrees with the metadata\'s '
                       f'{recording.sample_rate:g}')
    if center_frequency is not None:
      recording.center_frequency = float(center_frequency)
    return recording
  if path.endswith('.npy'):
    return ArrayRecording(path, sample_rate, center_frequency or 0.0)
  if dtype is None:
    raise ValueError(f'{path}: a raw IQ file needs --dtype ({"/".join(RAW_DTYPES)}) and --sample_rate')
  return RawRecording(path, sample_rate, dtype, center_frequency or 0.0)

