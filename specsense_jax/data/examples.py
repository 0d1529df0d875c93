"""Example generation for the spectrum_sensing TFDS builder, in plain Python so worker processes and Apache
Beam workers can import and pickle it.

A synthetic dataset is fully described by `SyntheticSpec`: example k is `make_example((seed, k), ...)`, its
split is k mod 10 (0-7 train, 8 validation, 9 test) and its key is k, so any worker, any runner, any order
gives the same records. A captured dataset's frames are the ones prediction sees (`frames.recording_frames`),
and each recording goes whole to one split (`splits.recording_splits`).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from typing import Any, Iterator

import numpy as np

from specsense_jax import capture
from specsense_jax import constants
from specsense_jax import frames
from specsense_jax import synthetic
from specsense_jax.data import splits
from specsense_jax.io import recordings
from specsense_jax.signals import scene
from specsense_jax.signals import scene_config

SIGNAL_LABELS = constants.SIGNAL_LABELS


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
  """Everything that determines a synthetic dataset's bytes."""
  num_frames: int
  image_size: int
  seed: int = 0
  spectrogram_mode: str = 'matlab'
  mask_mode: str = 'band'
  scene_overrides: tuple[tuple[str, Any], ...] = ()
  scene_preset: str = 'matlab'
  receiver_preset: str = ''  # '' (no receiver: the frame is imaged directly) or a `capture.RECEIVER_PRESETS` name
  scaling: str = 'minmax'
  occupancy_mask: bool = False  # also write the occupancy truth as feature 'occupancy_mask'
  class_names: tuple[str, ...] = constants.MATHWORKS_CLASSES  # the set's classes: its `signals` flags

  def scene_config(self) -> scene.SceneConfig:
    if self.scene_preset not in scene_config.SCENE_PRESETS:
      raise ValueError(f'scene_preset must be one of {sorted(scene_config.SCENE_PRESETS)}, got {self.scene_preset!r}')
    preset = scene_config.SCENE_PRESETS[self.scene_preset]
    return preset(**{'image_width': self.image_size, **dict(self.scene_overrides)})

  def image_config(self) -> synthetic.ImageConfig:
    return synthetic.ImageConfig((self.image_size, self.image_size), self.spectrogram_mode, self.mask_mode,
                                 scaling=self.scaling)

  def capture_config(self) -> capture.CaptureConfig | None:
    if not self.receiver_preset:
      return None
    if self.receiver_preset not in capture.RECEIVER_PRESETS:
      raise ValueError(f'receiver_preset must be empty or one of {sorted(capture.RECEIVER_PRESETS)}, got '
                       f'{self.receiver_preset!r}')
    return capture.CaptureConfig(receiver=capture.RECEIVER_PRESETS[self.receiver_preset]())


def _jsonable(value):
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.generic):
    return value.item()
  return value


def signal_labels(class_names=constants.MATHWORKS_CLASSES) -> tuple[str, ...]:
  """The labels of a dataset's `signals` flags: SIGNAL_LABELS, then the class set's names past Unknown (WLAN,
  Radar), so that the sets made before those classes keep their three flags."""
  return SIGNAL_LABELS + tuple(class_names[len(constants.FOUR_CLASSES):])


def _signals_present(labels, class_names=constants.MATHWORKS_CLASSES) -> np.ndarray:
  names = signal_labels(class_names)
  present = np.zeros(len(names), bool)
  for label in labels:
    if label != constants.IGNORE_LABEL:  # a region of unknown truth, not a signal
      present[names.index(label if label in names else 'Unknown')] = True
  return present


def synthetic_example(spec: SyntheticSpec, index: int) -> tuple[int, dict[str, Any]]:
  """(key, feature dict) of synthetic frame `index`."""
  capture_config = spec.capture_config()
  if spec.occupancy_mask and capture_config is None:
    raise ValueError('occupancy_mask needs a receiver_preset (the capture path makes both truths)')
  if capture_config is None:
    ex = synthetic.make_example((spec.seed, index), spec.scene_config(), spec.image_config())
  else:  # through a receiver and inference's recording-to-frames path
    ex = capture.make_example((spec.seed, index), spec.scene_config(), spec.image_config(), capture_config)
  params = ex['params']
  out = {
      'image': ex['image'], 'mask': ex['mask'][..., None], 'snr_db': np.float32(ex['snr_db']),
      'signals': _signals_present((a['label'] for a in ex['annotations']), spec.class_names),
      'scene': params['scene'],
      'params': json.dumps(_jsonable(params), sort_keys=True), 'recording': 'synthetic',
      'frame_index': index, 'valid_fraction': np.float32(ex.get('valid_fraction', 1.0))}
  if spec.occupancy_mask:
    out['occupancy_mask'] = ex['occupancy_mask'][..., None]
  return index, out


def synthetic_examples(spec: SyntheticSpec, indices, num_workers: int | None = None,
                       progress: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
  """Examples of `indices`, computed on `num_workers` local processes (default: all cores), in order."""
  indices = list(indices)
  num_workers = num_workers or int(os.environ.get('SPECSENSE_TFDS_WORKERS', os.cpu_count() or 1))
  bar = _progress(len(indices), progress)
  if num_workers <= 1 or len(indices) < 4:
    for i in indices:
      yield synthetic_example(spec, i)
      bar.update(1)
    bar.close()
    return
  # Spawned workers with one BLAS thread each: no fork of a process that holds TF/JAX threads, and no
  # oversubscription of the cores.
  saved = {k: os.environ.get(k) for k in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
  os.environ.update({k: '1' for k in saved})
  try:
    with multiprocessing.get_context('spawn').Pool(num_workers) as pool:
      chunk = max(1, min(16, len(indices) // (4 * num_workers)))
      for item in pool.imap(_synthetic_star, [(spec, i) for i in indices], chunksize=chunk):
        yield item
        bar.update(1)
  finally:
    for k, v in saved.items():
      if v is None:
        os.environ.pop(k, None)
      else:
        os.environ[k] = v
    bar.close()


def _synthetic_star(args):
  return synthetic_example(*args)


def _progress(total: int, enabled: bool):
  import tqdm  # pylint: disable=g-import-not-at-top
  return tqdm.tqdm(total=total, disable=not enabled, desc='frames', unit='frame', leave=False)


def recording_paths(manual_dir: str) -> list[str]:
  """The SigMF recordings in a folder, sorted: each `*.sigmf-meta` (with its dataset) and each archive
  (`*.sigmf`, `*.sigmf.gz`, `*.sigmf.xz`, `*.sigmf.zip`) that has no `.sigmf-meta` of the same name; ValueError
  when there are none."""
  names = set(os.listdir(manual_dir))
  metas = [f for f in names if f.endswith('.sigmf-meta')]
  archives = [f for f in names if f.endswith(recordings.ARCHIVE_SUFFIXES)
              and f[:f.rindex('.sigmf')] + '.sigmf-meta' not in names]
  if not metas and not archives:
    raise ValueError(f'{manual_dir}: no SigMF recordings (*.sigmf-meta with their data, or *.sigmf archives) '
                     'found')
  return sorted(os.path.join(manual_dir, f) for f in metas + archives)


def captured_examples(manual_dir: str, image_size: int, spectrogram_mode: str = 'matlab', seed: int = 0,
                      class_names=constants.FOUR_CLASSES) -> dict[str, list[tuple[str, dict[str, Any]]]]:
  """All frames of all recordings in `manual_dir`, grouped by split (whole recordings: `splits.recording_splits`).

  Frames come from `frames.recording_frames`, as prediction sees them; masks carry `NO_LABEL` where a frame
  has no data (fill), and Unknown for a label outside `class_names` (a WLAN annotation in a four-class set). Every
  recording is opened and checked before any frame is made, so a bad file fails the build before anything is
  written.
  """
  opened = [recordings.read_recording(p) for p in recording_paths(manual_dir)]
  assignment = splits.recording_splits([rec.name for rec in opened])
  size = (image_size, image_size)
  out = {s: [] for s in splits.SPLITS}
  for rec in opened:
    for frame in frames.recording_frames(rec, size, spectrogram_mode, seed=seed):
      mask = frames.label_mask(frame)
      mask[(mask >= len(class_names)) & (mask != constants.NO_LABEL)] = constants.CLASS_IDS['Unknown']
      out[assignment[rec.name]].append((f'{rec.name}/{frame.index}', {
          'image': frame.image, 'mask': mask[..., None], 'snr_db': np.float32(np.nan),
          'signals': _signals_present((a['label'] for a in frame.annotations), class_names), 'scene': 'captured',
          'params': json.dumps(_jsonable({'recording': rec.name, 'sample_rate': rec.sample_rate,
                                          'center_frequency': frame.center_frequency,
                                          'noise_floor_db_per_hz': frame.noise_floor_db}), sort_keys=True),
          'recording': rec.name, 'frame_index': frame.index, 'valid_fraction': np.float32(frame.valid_fraction)}))
  return out
