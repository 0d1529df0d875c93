"""SigMF recordings with annotations: read, write, and describe raw captures.

Annotations are returned the way the rest of the framework uses them: label, freq_lower_edge and
freq_upper_edge in Hz relative to the recording's centre frequency, sample_start, sample_count. On disk they
are SigMF `core:` fields with absolute frequencies, written and validated with the `sigmf` package.
"""

from __future__ import annotations

import os

import numpy as np
from sigmf import sigmffile
import sigmf as sigmf_lib

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
  """The DATATYPES name of a SigMF datatype (unsuffixed ci16 / cf32 read as little-endian); SigMFError naming
  `path` for any other."""
  name = _ALIASES.get(str(datatype).lower(), str(datatype).lower())
  if name not in DATATYPES:
    where = f'{path}: ' if path else ''
    raise SigMFError(f'{where}unsupported datatype {datatype!r}; supported: {sorted(DATATYPES)} (and ci16, '
                     'cf32 as little-endian)')
  return name


def file_paths(path: str | os.PathLike) -> tuple[str, str]:
  """(`x.sigmf-meta`, `x.sigmf-data`) of a path with or without a SigMF suffix."""
  base = os.fspath(path)
  for suffix in ('.sigmf-meta', '.sigmf-data', '.sigmf'):
    if base.endswith(suffix):
      base = base[:-len(suffix)]
  return base + '.sigmf-meta', base + '.sigmf-data'


def write_recording(path: str, iq: np.ndarray, sample_rate: float, *, center_frequency: float = 0.0,
                    annotations=(), datatype: str = 'cf32_le', description: str = '',
                    extra_global: dict | None = None) -> str:
  """Writes `path`.sigmf-data and `path`.sigmf-meta (both atomically) and returns the meta path.

  Args:
    path: base path (any SigMF suffix is stripped).
    iq: complex samples; integer datatypes take full scale ±1 (values beyond are clipped with an error).
    sample_rate: samples per second.
    center_frequency: Hz of the capture's centre.
    annotations: framework-shaped annotations (frequencies relative to the centre); their `specsense:` keys are
      written as they are (the declared extension).
    datatype: one of DATATYPES.
    description: core:description.
    extra_global: more global fields.
  """
  meta_path, data_path = file_paths(path)
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
  meta_path, _ = file_paths(path)
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
        'core:freq_upper_edge': float(ann['freq_upper_edge'] + center_frequency),
        **{key: value for key, value in ann.items() if key.startswith('specsense:')}})  # the declared extension
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
