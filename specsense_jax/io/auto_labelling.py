"""A folder of recordings labelled without a human: each SigMF or raw recording becomes a SigMF recording of the
same base name in the output folder, its annotations from `auto_annotations`, and a figure with the carriers
drawn on the spectrogram.

Raw recordings need their sample rate, sample type and centre frequency: from a JSON manifest
(`{"file.bin": {"sample_rate": 19.2e6, "dtype": "ci8", "center_frequency": 1815.3e6}}`; dtype ci8, ci16 or cf32,
or their SigMF names ci16_le, cf32_le) or one setting for all. Every input is opened and checked, and no two may
share a base name, before anything is written.
The data bytes are copied when the input's own file holds exactly the samples (raw files, plain SigMF pairs);
other inputs (archives, chunked data) are written as cf32.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np

from specsense_jax import plotting
from specsense_jax.io import auto_annotations
from specsense_jax.io import recordings
from specsense_jax.io import sigmf

RAW_SUFFIXES = ('.bin', '.raw', '.iq', '.dat', '.cf32', '.cs16', '.cs8')
SEARCH_SECONDS = 0.1  # the cell searches read this much (every LTE frame's MIB in it, SSBs every 20 ms or less)


@dataclasses.dataclass(frozen=True)
class Labelled:
  """One labelled recording: the input, the SigMF metadata written, its annotations and figure."""
  source: str
  meta_path: str
  annotations: list[dict]
  figure: str | None

  def summary(self) -> str:
    """One line: the carriers found (label, cell ID, edges in MHz from the centre) and where they went."""
    carriers = [f"{a['label']} {a.get('specsense:cell_id', '')} {a['freq_lower_edge'] / 1e6:+.2f}.."
                f"{a['freq_upper_edge'] / 1e6:+.2f} MHz" for a in self.annotations if a['label'] != 'Ignore']
    return f"{os.path.basename(self.source)}: {'; '.join(carriers) or 'no cell found'} -> {self.meta_path}"


def find_recordings(input_dir: str) -> list[str]:
  """The recordings of a folder (not recursive), each once: SigMF metadata or archives, and raw IQ files."""
  if not os.path.isdir(input_dir):
    raise ValueError(f'--input={input_dir}: not a folder')
  names = sorted(os.listdir(input_dir))
  found = []
  for name in names:
    path = os.path.join(input_dir, name)
    if name.endswith('.sigmf-meta') or name.endswith(recordings.ARCHIVE_SUFFIXES):
      found.append(path)
    elif name.endswith(RAW_SUFFIXES) and not name.endswith('.sigmf-data'):
      found.append(path)
  return found


def _raw_settings(path: str, manifest: dict, defaults: dict) -> dict:
  settings = {**defaults, **manifest.get(os.path.basename(path), {})}
  missing = [key for key in ('sample_rate', 'dtype', 'center_frequency') if settings.get(key) is None]
  if missing:
    raise ValueError(f'{path}: a raw recording needs {", ".join(missing)} (a --manifest entry or the flags)')
  # the SigMF spellings (cf32_le, ci16_le) name the same sample types
  by_sigmf = {sigmf_name: short for short, sigmf_name in recordings.RAW_DTYPES.items()}
  return {**settings, 'dtype': by_sigmf.get(settings['dtype'], settings['dtype'])}


def _output_name(path: str) -> str:
  return recordings.recording_name(path) if not path.endswith(RAW_SUFFIXES) else \
      os.path.splitext(os.path.basename(path))[0]


def _open(path: str, manifest: dict, defaults: dict) -> recordings.Recording:
  """The recording, checked for what automatic labels need (one centre frequency)."""
  if path.endswith('.sigmf-meta') or path.endswith(recordings.ARCHIVE_SUFFIXES):
    recording = recordings.open_recording(path)
  else:
    settings = _raw_settings(path, manifest, defaults)
    recording = recordings.open_recording(path, sample_rate=float(settings['sample_rate']), dtype=settings['dtype'],
                                          center_frequency=float(settings['center_frequency']))
  if len({s.center_frequency for s in recording.segments}) > 1:
    raise ValueError(f'{path}: its captures have several centre frequencies; automatic labels need one')
  return recording


def label_recording(path: str, output_dir: str, *, manifest: dict | None = None, defaults: dict | None = None,
                    figure: bool = True) -> Labelled:
  """Labels one recording into `output_dir` (see the module docstring); ValueError naming the file on bad
  input. Nothing is left half-written: data and metadata are each written atomically, the data first."""
  recording = _open(path, manifest or {}, defaults or {})
  search = recording.read(0, min(recording.num_samples, int(SEARCH_SECONDS * recording.sample_rate)))
  annotations = auto_annotations.annotate(search, recording.sample_rate,
                                          center_frequency=recording.center_frequency)
  annotations = [{**a, 'sample_count': recording.num_samples} for a in annotations]  # cells last the recording
  name = _output_name(path)
  base = os.path.join(output_dir, name)
  datatype = getattr(recording, 'datatype', None)
  component = sigmf.DATATYPES[datatype][0] if datatype in sigmf.DATATYPES else None
  plain = (component is not None and path.endswith(RAW_SUFFIXES + ('.sigmf-meta',))
           and os.path.getsize(recording.data_path) == recording.num_samples * 2 * np.dtype(component).itemsize)
  description = (f'Labelled automatically by specsense_jax (io.auto_annotations) from {os.path.basename(path)}: '
                 f'{len(annotations)} annotations.')
  extra = {'specsense:truth': 'automatic (cell search + MIB)'}
  if plain:
    shutil.copyfile(recording.data_path, base + '.sigmf-data.tmp')
    os.replace(base + '.sigmf-data.tmp', base + '.sigmf-data')
    meta = sigmf.write_metadata(base, datatype, recording.sample_rate, recording.num_samples,
                                center_frequency=recording.center_frequency, annotations=annotations,
                                description=description, extra_global=extra)
  else:
    meta = sigmf.write_recording(base, recording.read(), recording.sample_rate,
                                 center_frequency=recording.center_frequency, annotations=annotations,
                                 description=description, extra_global=extra)
  image = None
  if figure:
    shown = search[:int(0.04 * recording.sample_rate)]
    image = plotting.save_annotation_figure(shown, recording.sample_rate, base + '.png',
                                            center_frequency=recording.center_frequency, annotations=annotations,
                                            title=f'{name}: automatic labels')
  return Labelled(path, meta, annotations, image)


def label_folder(input_dir: str, output_dir: str, *, manifest_path: str | None = None,
                 defaults: dict | None = None, figures: bool = True) -> list[Labelled]:
  """Labels every recording of `input_dir` into `output_dir` (which must differ from it)."""
  if os.path.realpath(input_dir) == os.path.realpath(output_dir):
    raise ValueError(f'--output={output_dir} must differ from --input={input_dir}')
  manifest = {}
  if manifest_path:
    try:
      with open(manifest_path) as f:
        manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      raise ValueError(f'--manifest={manifest_path}: not a readable JSON object ({e})') from None
    if not isinstance(manifest, dict):
      raise ValueError(f'--manifest={manifest_path}: a JSON object of file name -> settings expected')
  paths = find_recordings(input_dir)
  if not paths:
    raise ValueError(f'--input={input_dir}: no SigMF or raw recordings ({", ".join(RAW_SUFFIXES)}) in it')
  by_name = {}
  for path in paths:  # every recording opened and checked before anything is written
    _open(path, manifest, defaults or {})
    name = _output_name(path)
    if name in by_name:
      raise ValueError(f'{path} and {by_name[name]} would both be written as {name}.sigmf-meta; rename one')
    by_name[name] = path
  os.makedirs(output_dir, exist_ok=True)
  return [label_recording(p, output_dir, manifest=manifest, defaults=defaults, figure=figures) for p in paths]
