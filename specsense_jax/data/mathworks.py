"""The MathWorks spectrum-sensing downloads (the paper's references 19-21) as labelled examples.

A download, unzipped anywhere, holds RGB PNG spectrograms (parula) with a label file of the same name ending in
`.hdf`: an HDF4 8-bit raster image written by MATLAB's `imwrite(..., 'hdf')` (`io.hdf4`). MATLAB's helpers
compute the spectrogram as time x frequency (ascending) and flip both the image and the label up-down before
writing, so their last row is the frame start; examples here carry rows in time from the frame start
(`np.flipud` of both). Labels take the values floor(k * 255 / (K - 1)) of the k-th of the example's K classes:

  2021 (three classes): Noise 0, NR 127, LTE 255
  2023-24 (four):        Noise 0, NR 85, LTE 170, Unknown 255
  2025 (five):           Noise 0, NR 63, LTE 127, WLAN 191, Unknown 255  (class order Noise, NR, LTE, WLAN, Unknown)

Layouts: `TrainingData/<size>/{NR,LTE,WLAN}_frame_<n>.{png,hdf}`, combined frames in a subfolder (`LTE_NR/`,
2025: `LTE_NR_WLAN/`), over-the-air frames in `captured/` named `<capture>_frame_<n>` (e.g.
`CF800MHz_BW200MHz_20230621151545934_frame_3`). Files are found at any depth; training sets skip `captured`
folders and captured sets read only those.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Iterator, Sequence

import numpy as np
import PIL.Image

from specsense_jax import constants
from specsense_jax.data import examples
from specsense_jax.data import splits
from specsense_jax.io import hdf4

# label value -> class name, per version of the downloads (see the module docstring)
LABEL_VALUES = {
    '2021': {0: 'Noise', 127: 'NR', 255: 'LTE'},
    '2023': {0: 'Noise', 85: 'NR', 170: 'LTE', 255: 'Unknown'},
    '2025': {0: 'Noise', 63: 'NR', 127: 'LTE', 191: 'WLAN', 255: 'Unknown'},
}
CAPTURED_FOLDER = 'captured'
_FRAME = re.compile(r'^(?P<capture>.*)_frame_(?P<index>\d+)$')


def class_names(version: str) -> tuple[str, ...]:
  """The classes of a version's labels, in our ids (constants.CLASS_SETS)."""
  return constants.CLASS_SETS[len(LABEL_VALUES[version])]


def find_frames(root: str, captured: bool) -> list[str]:
  """The relative paths (without extension, sorted) of every PNG under `root` with its `.hdf` label: under a
  `captured` folder when `captured`, else everywhere but there. ValueError naming the file for an image without
  its label, a label without its image, or no frames at all."""
  if not os.path.isdir(root):
    raise ValueError(f'MathWorks download folder {root!r} does not exist')
  found = []
  for folder, dirs, files in os.walk(root):
    dirs.sort()
    relative = os.path.relpath(folder, root)
    in_captured = CAPTURED_FOLDER in (part.lower() for part in relative.split(os.sep))
    if in_captured != captured:
      continue
    stems = {os.path.splitext(f)[0]: [] for f in files if f.lower().endswith(('.png', '.hdf'))}
    for f in files:
      stem, ext = os.path.splitext(f)
      if ext.lower() in ('.png', '.hdf'):
        stems[stem].append(ext.lower())
    for stem, exts in sorted(stems.items()):
      path = os.path.join(folder, stem)
      if '.hdf' not in exts:
        raise ValueError(f'{path}.png has no label file {stem}.hdf beside it')
      if '.png' not in exts:
        raise ValueError(f'{path}.hdf has no spectrogram image {stem}.png beside it')
      found.append(os.path.normpath(os.path.join(relative, stem)))
  if not found:
    what = f'under a {CAPTURED_FOLDER!r} folder' if captured else f'outside {CAPTURED_FOLDER!r} folders'
    raise ValueError(f'MathWorks download folder {root!r} holds no PNG + HDF frame {what}')
  return sorted(found)


def read_label(path: str, image_size: int) -> np.ndarray:
  """The raw label values of one `.hdf` file, as stored (flipped); ValueError naming it unless image_size
  square."""
  label = hdf4.read_raster8(path)
  if label.shape != (image_size, image_size):
    raise ValueError(f'{path}: label is {label.shape[1]}x{label.shape[0]} pixels; this config reads '
                     f'{image_size}x{image_size} frames')
  return label


def detect_version(root: str, frames: Sequence[str], image_size: int, versions: Sequence[str]) -> str:
  """The version among `versions` whose label values hold every value of every label in `frames` (and check of
  every label's size). ValueError naming the file whose values no candidate holds, or the candidates when
  several fit (set the config's `label_versions` to one)."""
  present: set[int] = set()
  for frame in frames:
    values = set(np.unique(read_label(os.path.join(root, frame + '.hdf'), image_size)).tolist())
    fitting = [v for v in versions if values | present <= set(LABEL_VALUES[v])]
    if not fitting:
      allowed = '; '.join(f'{v}: {sorted(LABEL_VALUES[v])}' for v in versions)
      raise ValueError(f'{os.path.join(root, frame)}.hdf: label values {sorted(values)} fit no MathWorks label '
                       f'version with the others ({sorted(present)}); allowed: {allowed}')
    present |= values
  fitting = [v for v in versions if present <= set(LABEL_VALUES[v])]
  if len(fitting) > 1:
    raise ValueError(f'MathWorks download {root!r}: label values {sorted(present)} fit versions {fitting}; set the '
                     'config\'s label_versions to the one of the download')
  return fitting[0]


def to_class_ids(label: np.ndarray, version: str, path: str) -> np.ndarray:
  """Our class ids (constants.CLASS_IDS) of a label's values; ValueError naming `path` for a value outside the
  version's set."""
  lookup = np.full(256, -1, np.int16)
  for value, name in LABEL_VALUES[version].items():
    lookup[value] = constants.CLASS_IDS[name]
  ids = lookup[label]
  if (ids < 0).any():
    raise ValueError(f'{path}: label values {sorted(set(np.unique(label[ids < 0]).tolist()))} are not in the '
                     f'{version} set {sorted(LABEL_VALUES[version])}')
  return ids.astype(np.uint8)


def scene(frame: str) -> str:
  """'captured', a combined-frame folder ('lte_nr', 'lte_nr_wlan') or the single standard of the file name."""
  parts = frame.split(os.sep)
  if any(p.lower() == CAPTURED_FOLDER for p in parts[:-1]):
    return 'captured'
  match = _FRAME.match(parts[-1])
  return (match.group('capture') if match else parts[-1]).lower()


def capture_name(frame: str) -> str:
  """The capture a captured frame belongs to: its file name without `_frame_<n>`."""
  name = os.path.basename(frame)
  match = _FRAME.match(name)
  return match.group('capture') if match else name


def frame_splits(frames: Sequence[str], captured: bool) -> dict[str, str]:
  """Split of each frame: training sets 80/10/10 in the order of a SHA-256 of the relative path (the same on
  any machine, whatever order the files are listed in); captured sets whole captures (`splits.recording_splits`),
  so frames of one capture never land in two splits."""
  if captured:
    by_capture = splits.recording_splits(sorted({capture_name(f) for f in frames}))
    return {f: by_capture[capture_name(f)] for f in frames}
  ordered = sorted(frames, key=lambda f: hashlib.sha256(f.replace(os.sep, '/').encode()).hexdigest())
  return {f: splits.split_of(i) for i, f in enumerate(ordered)}


def _check_image_size(png: PIL.Image.Image, path: str, image_size: int) -> None:
  if png.size != (image_size, image_size):
    raise ValueError(f'{path}: image is {png.size[0]}x{png.size[1]} pixels; this config reads '
                     f'{image_size}x{image_size} frames')


def read_example(root: str, frame: str, version: str, image_size: int) -> dict[str, Any]:
  """One frame as the builder's features, in our orientation; ValueError naming the file for a size mismatch
  or a label value outside the version's set."""
  path = os.path.join(root, frame)
  with PIL.Image.open(path + '.png') as png:
    _check_image_size(png, path + '.png', image_size)
    image = np.asarray(png.convert('RGB'))
  mask = to_class_ids(read_label(path + '.hdf', image_size), version, path + '.hdf')
  flags = examples.signal_labels(class_names(version))
  present = np.array([constants.CLASS_IDS[n] in mask for n in flags], bool)
  kind = scene(frame)
  return {'image': np.ascontiguousarray(np.flipud(image)), 'mask': np.ascontiguousarray(np.flipud(mask))[..., None],
          'snr_db': np.float32(np.nan), 'signals': present, 'scene': kind,
          'file_name': frame.replace(os.sep, '/'),
          'recording': capture_name(frame) if kind == 'captured' else '',
          'params': json.dumps({'label_version': version}, sort_keys=True)}


def mathworks_examples(root: str, image_size: int, captured: bool, versions: Sequence[str]
                       ) -> tuple[str, dict[str, list[str]]]:
  """(version, {split: [frame, ...]}) of a download: every label is read and checked (size, values) before any
  example is made, so bad input fails the build before anything is written."""
  frames = find_frames(root, captured)
  version = detect_version(root, frames, image_size, versions)
  for frame in frames:
    path = os.path.join(root, frame + '.png')
    with PIL.Image.open(path) as png:  # the header only: no pixels are decoded
      _check_image_size(png, path, image_size)
  assignment = frame_splits(frames, captured)
  return version, {s: [f for f in frames if assignment[f] == s] for s in splits.SPLITS}


def generate(root: str, frames: Sequence[str], version: str, image_size: int) -> Iterator[tuple[str, dict]]:
  """(key, example) of each frame (`read_example`), keyed by its relative path."""
  for frame in frames:
    yield frame.replace(os.sep, '/'), read_example(root, frame, version, image_size)
