"""Opening a SigMF recording and checking its metadata: the `sigmf` package's handle of a metadata file and its
dataset or of an archive, the checks whose errors name a field, schema validation, and the metadata's capture
segments and annotations in the framework's shape (`recordings.read_recording` builds the recording from them).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any

import jsonschema
import numpy as np
from sigmf import schema as sigmf_schema
from sigmf import sigmffile

from specsense_jax.io.sigmf import canonical_datatype
from specsense_jax.io.sigmf import SigMFError


@dataclasses.dataclass(frozen=True)
class Segment:
  """Samples [start, start + count) of a recording, recorded continuously at `center_frequency` (Hz)."""
  start: int
  count: int
  center_frequency: float

  @property
  def end(self) -> int:
    return self.start + self.count


@dataclasses.dataclass
class Source:
  """An opened SigMF recording, its metadata checked, before the checks of its samples and captures: the
  package's handle and where its samples lie."""
  handle: sigmffile.SigMFFile
  metadata: dict[str, Any]
  meta_path: str             # named in errors about the metadata
  data_path: str             # the dataset file (the archive itself for an archive), named in errors about data
  first_byte: int            # of the first sample, in `data_path` or `buffer`
  data_bytes: int            # from `first_byte` to the end of the samples (later chunk headers included)
  buffer: memoryview | None  # a compressed archive's dataset, decompressed by the package


def _check_global(metadata: Any, meta_path: str) -> None:
  """The checks whose messages name a field, before schema validation."""
  info = metadata.get('global', {}) if isinstance(metadata, dict) else {}
  canonical_datatype(info.get('core:datatype'), meta_path)
  sample_rate = info.get('core:sample_rate')
  if not isinstance(sample_rate, (int, float)) or not np.isfinite(sample_rate) or sample_rate <= 0:
    raise SigMFError(f'{meta_path}: core:sample_rate must be a positive number, got {sample_rate!r}')
  if info.get('core:num_channels', 1) != 1:
    raise SigMFError(f'{meta_path}: core:num_channels is {info["core:num_channels"]}; only single-channel '
                     'recordings are supported')


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Any:
  """A validator of the SigMF metadata schema, the schema checked once: `sigmf.validate` checks the schema itself
  on every call, 40 ms a recording (a tenth of predicting 1 s at 61.44 Msps)."""
  schema = sigmf_schema.get_schema()
  validator = jsonschema.validators.validator_for(schema)
  validator.check_schema(schema)
  return validator(schema)


def _validate(metadata: dict[str, Any], meta_path: str) -> None:
  """What `SigMFFile.validate` checks (the schema; captures and annotations in sample_start order), or a
  SigMFError naming `meta_path`."""
  error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(metadata))
  if error is not None:
    raise SigMFError(f'{meta_path}: invalid SigMF metadata ({str(error).splitlines()[0]})')
  for key in ('captures', 'annotations'):
    starts = [item.get('core:sample_start', 0) for item in metadata.get(key, [])]
    if any(b < a for a, b in zip(starts, starts[1:])):
      raise SigMFError(f'{meta_path}: invalid SigMF metadata ({key} has incorrect sample start ordering.)')


def open_pair(meta_path: str, data_path: str) -> Source:
  """A metadata file and the dataset it describes (`x.sigmf-data`, or the file `core:dataset` names)."""
  if not os.path.isfile(meta_path):
    raise SigMFError(f'{meta_path}: file not found')
  try:
    with open(meta_path) as f:
      metadata = json.load(f)
  except json.JSONDecodeError as e:
    raise SigMFError(f'{meta_path}: not valid JSON ({e})') from None
  _check_global(metadata, meta_path)
  try:
    found = sigmffile.get_dataset_filename_from_metadata(meta_path, metadata)
  except Exception:  # a core:dataset that does not exist
    found = os.path.join(os.path.dirname(meta_path), metadata['global']['core:dataset'])
    raise SigMFError(f'{found}: file not found (the core:dataset of {meta_path})') from None
  if found is None:
    raise SigMFError(f'{data_path}: file not found')
  handle = sigmffile.SigMFFile(metadata=metadata)
  _validate(metadata, meta_path)
  captures = handle.get_captures()
  header = int(captures[0].get('core:header_bytes', 0)) if captures else 0
  data_bytes = os.path.getsize(found) - header - int(metadata['global'].get('core:trailing_bytes', 0))
  return Source(handle, metadata, meta_path, os.fspath(found), header, data_bytes, None)


def open_archive(path: str) -> Source:
  """An archive, which the package reads in place (tar) or decompresses (gz, xz, zip)."""
  if not os.path.isfile(path):
    raise SigMFError(f'{path}: file not found')
  try:
    handle = sigmffile.fromarchive(path, skip_checksum=True)
  except Exception as e:  # not a tar/zip, no metadata or dataset member, invalid metadata
    raise SigMFError(f'{path}: not a readable SigMF archive ({str(e).splitlines()[0]})') from None
  metadata = json.loads(json.dumps(handle.ordered_metadata()))
  _check_global(metadata, path)
  buffer = handle.data_buffer.getbuffer() if handle.data_buffer is not None else None
  # the package's data_offset already skips the tar header and a non-conforming dataset's leading header
  return Source(handle, metadata, path, path, int(handle.data_offset), int(handle.data_size_bytes), buffer)


def capture_segments(captures: list[dict[str, Any]], starts: list[int], num_samples: int
                     ) -> tuple[Segment, ...]:
  """Captures -> segments: a new one where the centre frequency changes or `core:global_index` jumps."""
  bounds, frequencies = [], []
  previous: dict[str, Any] = {}
  for k, (capture, start) in enumerate(zip(captures, starts)):
    frequency = float(capture.get('core:frequency', frequencies[-1] if frequencies else 0.0))
    index, last_index = capture.get('core:global_index'), previous.get('core:global_index')
    gap = index is not None and last_index is not None and index - last_index != start - starts[k - 1]
    if k == 0 or frequency != frequencies[-1] or gap:
      bounds.append(start)
      frequencies.append(frequency)
    previous = capture
  ends = bounds[1:] + [num_samples]
  return tuple(Segment(a, b - a, f) for a, b, f in zip(bounds, ends, frequencies) if b > a)


def framework_annotations(annotations: list[dict[str, Any]], offset: int, num_samples: int,
                          segments: tuple[Segment, ...], meta_path: str) -> list[dict[str, Any]]:
  """SigMF annotations -> framework-shaped ones, split at segment boundaries, relative to their centre."""
  out = []
  for i, ann in enumerate(annotations):
    start = int(ann['core:sample_start']) - offset
    count = int(ann.get('core:sample_count', num_samples - start))
    if start < 0 or count < 0 or start + count > num_samples:
      raise SigMFError(f'{meta_path}: annotation {i} covers samples [{start + offset}, {start + offset + count}), '
                       f'outside the recording ({offset}..{offset + num_samples})')
    lo, hi = ann.get('core:freq_lower_edge'), ann.get('core:freq_upper_edge')
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
      raise SigMFError(f'{meta_path}: annotation {i} needs finite core:freq_lower_edge <= core:freq_upper_edge, '
                       f'got {lo!r}, {hi!r}')
    for segment in segments:
      a, b = max(start, segment.start), min(start + count, segment.end)
      if b > a or (count == 0 and segment.start <= start < segment.end):
        out.append({'label': str(ann.get('core:label', 'Unknown')), 'freq_lower_edge': lo - segment.center_frequency,
                    'freq_upper_edge': hi - segment.center_frequency, 'sample_start': a, 'sample_count': b - a})
  return out
