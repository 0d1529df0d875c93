"""SigMF recordings with annotations: read, write, and describe raw captures.

Annotations are returned the way the rest of the framework uses them: label, freq_lower_edge and
freq_upper_edge in Hz relative to the recording's centre frequency, sample_start, sample_count. On disk they
are SigMF `core:` fields with absolute frequencies, written and validated with the `sigmf` package.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np
import sigmf as sigmf_lib
from sigmf import sigmffile

# datatype -> (numpy component dtype, full-scale divisor)
DATATYPES = {
    'ci8': ('i1', 128.0),
    'ci16_le': ('<i2', 32768.0), 'ci16_be': ('>i2', 32768.0),
    'cf32_le': ('<f4', None), 'cf32_be': ('>f4', None),
}
# Unsuffixed multi-byte names, as raw-capture tools often write them, read as little-endian.
_ALIASES = {'ci16': 'ci16_le', 'cf32': 'cf32_le', 'ci8_le': 'ci8', 'ci8_be': 'ci8'}


class SigMFError(ValueError):
  """A SigMF recording that cannot be read as asked; the message names the file."""


def canonical_datatype(datatype: str, path: str = '') -> str:
  name = _ALIASES.get(str(datatype).lower(), str(datatype).lower())
  if name not in DATATYPES:
    where = f'{path}: ' if path else ''
    raise SigMFError(f'{where}unsupported datatype {datatype!r}; supported: {sorted(DATATYPES)} (and ci16, '
                     'cf32 as little-endian)')
  return name


@dataclasses.dataclass
class Recording:
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


def _paths(path: str) -> tuple[str, str]:
  base = str(path)
  for suffix in ('.sigmf-meta', '.sigmf-data', '.sigmf'):
    if base.endswith(suffix):
      base = base[:-len(suffix)]
  return base + '.sigmf-meta', base + '.sigmf-data'


def read_recording(path: str) -> Recording:
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
  return Recording(meta_path, data_path, datatype, float(sample_rate), centre, num_samples, annotations,
                   metadata)


def write_recording(path: str, iq: np.ndarray, sample_rate: float, *, center_frequency: float = 0.0,
                    annotations=(), datatype: str = 'cf32_le', description: str = '',
                    extra_global: dict | None = None) -> str:
  """Writes `path`.sigmf-data and `path`.sigmf-meta (both atomically) and returns the meta path.

  Args:
    path: base path (any SigMF suffix is stripped).
    iq: complex samples; integer datatypes take full scale ±1 (values beyond are clipped with an error).
    sample_rate: samples per second.
    center_frequency: Hz of the capture's centre.
    annotations: framework-shaped annotations (frequencies relative to the centre).
    datatype: one of DATATYPES.
    description: core:description.
    extra_global: more global fields.
  """
  meta_path, data_path = _paths(path)
  datatype = canonical_datatype(datatype, meta_path)
  iq = np.asarray(iq)
  if iq.ndim != 1:
    raise SigMFError(f'{data_path}: samples must be 1-D, got shape {iq.shape}')
  if not np.all(np.isfinite(iq)):
    raise SigMFError(f'{data_path}: refusing to write non-finite samples')
  component, scale = DATATYPES[datatype]
  pairs = np.stack([iq.real, iq.imag], axis=1).astype(np.float64)
  if scale:
    scaled = np.round(pairs * scale)
    info = np.iinfo(np.dtype(component))
    if scaled.min(initial=0) < info.min or scaled.max(initial=0) > info.max:
      raise SigMFError(f'{data_path}: samples exceed full scale for {datatype}; scale them to |x| <= 1')
    pairs = scaled
  os.makedirs(os.path.dirname(os.path.abspath(meta_path)), exist_ok=True)
  tmp_data = data_path + '.tmp'
  pairs.astype(component).tofile(tmp_data)
  try:
    write_metadata(path, datatype, sample_rate, len(iq), center_frequency=center_frequency,
                   annotations=annotations, description=description, extra_global=extra_global)
  except SigMFError:
    os.remove(tmp_data)
    raise
  os.replace(tmp_data, data_path)
  return meta_path


def write_metadata(path: str, datatype: str, sample_rate: float, num_samples: int, *,
                   center_frequency: float = 0.0, annotations=(), description: str = '',
                   extra_global: dict | None = None) -> str:
  """Writes (atomically) and validates `path`.sigmf-meta for a data file of `num_samples` samples."""
  meta_path, _ = _paths(path)
  datatype = canonical_datatype(datatype, meta_path)
  global_info = {'core:datatype': datatype, 'core:sample_rate': float(sample_rate),
                 'core:version': sigmf_lib.__specification__, 'specsense:num_samples': int(num_samples),
                 'core:extensions': [{'name': 'specsense', 'version': '1.0.0', 'optional': True}],
                 **({'core:description': description} if description else {}), **(extra_global or {})}
  meta = sigmffile.SigMFFile(global_info=global_info)
  meta.add_capture(0, metadata={'core:frequency': float(center_frequency)})
  for ann in annotations:
    meta.add_annotation(int(ann['sample_start']), int(ann['sample_count']), metadata={
        'core:label': ann['label'], 'core:freq_lower_edge': float(ann['freq_lower_edge'] + center_frequency),
        'core:freq_upper_edge': float(ann['freq_upper_edge'] + center_frequency)})
  try:
    meta.validate()
  except Exception as e:  # the sigmf package raises several error types
    raise SigMFError(f'{meta_path}: metadata does not validate ({e})') from None
  os.makedirs(os.path.dirname(os.path.abspath(meta_path)), exist_ok=True)
  tmp_meta = meta_path + '.tmp'
  with open(tmp_meta, 'w') as f:
    f.write(meta.dumps(pretty=True))
  os.replace(tmp_meta, meta_path)
  return meta_path
