"""Runs a trained network over a recording's frames: masks, figures and one detections JSON per recording.

`run_predict` writes into a temporary folder beside `output` and renames it at the end, so a bad or corrupt
input leaves nothing half-written. Frames stream through in small batches; the only state kept across frames
is the score average and the detections still open.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import shutil
import time
from typing import Any, Iterable, Iterator

import jax
import numpy as np

from specsense_jax import plotting
from specsense_jax import predict
from specsense_jax import trained_models

STANDARDS = {1: 'NR', 2: 'LTE'}
MIN_ROW_SHARE = 0.05  # a column belongs to a carrier when the class covers this share of its valid rows


@dataclasses.dataclass
class Detection:
  standard: str
  freq_lo: float   # absolute Hz
  freq_hi: float
  start_s: float
  end_s: float
  confidence_sum: float
  pixels: int

  def as_dict(self) -> dict[str, Any]:
    return {'standard': self.standard, 'center_frequency_mhz': round(float(self.freq_lo + self.freq_hi) / 2e6, 4),
            'bandwidth_mhz': round(float(self.freq_hi - self.freq_lo) / 1e6, 4),
            'start_s': round(float(self.start_s), 6), 'end_s': round(float(self.end_s), 6),
            'confidence': round(self.confidence_sum / max(self.pixels, 1), 4)}


def frame_carriers(mask: np.ndarray, probabilities: np.ndarray, frame: predict.Frame) -> list[Detection]:
  """The carriers of one frame's mask: runs of columns where a standard covers >= MIN_ROW_SHARE of the rows."""
  height, width = mask.shape
  rows = frame.valid_rows
  column_hz = frame.span_hz / width
  low_edge = frame.center_frequency - frame.span_hz / 2
  found = []
  for class_id, name in STANDARDS.items():
    hit = (mask == class_id) & rows[:, None]
    share = hit.sum(0) / max(rows.sum(), 1)
    columns = (share >= MIN_ROW_SHARE) & frame.valid_columns
    edges = np.flatnonzero(np.diff(np.concatenate([[0], columns.astype(np.int8), [0]])))
    for c0, c1 in zip(edges[::2], edges[1::2]):  # [c0, c1)
      block = hit[:, c0:c1]
      occupied_rows = np.flatnonzero(block.any(1))
      found.append(Detection(name, low_edge + c0 * column_hz, low_edge + c1 * column_hz,
                             frame.start_s + occupied_rows[0] * frame.duration_s / height,
                             frame.start_s + (occupied_rows[-1] + 1) * frame.duration_s / height,
                             float(probabilities[:, c0:c1, class_id][block].sum()), int(block.sum())))
  return found


def _frequency_iou(a: Detection, b: Detection) -> float:
  overlap = min(a.freq_hi, b.freq_hi) - max(a.freq_lo, b.freq_lo)
  return max(overlap, 0.0) / (max(a.freq_hi, b.freq_hi) - min(a.freq_lo, b.freq_lo))


class DetectionTracker:
  """Continues an open detection (same standard, ending where the frame starts) with the frame's carrier
  whose band matches it (intersection over union >= 0.5); other carriers start new detections."""

  def __init__(self):
    self.open: list[Detection] = []
    self.closed: list[Detection] = []

  def add(self, carriers: list[Detection], frame_start_s: float) -> None:
    still_open = []
    for carrier in carriers:
      match = next((d for d in self.open if d.standard == carrier.standard and d.end_s >= frame_start_s - 1e-9
                    and _frequency_iou(d, carrier) >= 0.5), None)
      if match is None:
        still_open.append(carrier)
        continue
      self.open.remove(match)
      still_open.append(Detection(match.standard, min(match.freq_lo, carrier.freq_lo),
                                  max(match.freq_hi, carrier.freq_hi), match.start_s, carrier.end_s,
                                  match.confidence_sum + carrier.confidence_sum, match.pixels + carrier.pixels))
    self.closed.extend(self.open)
    self.open = still_open

  def result(self) -> list[dict[str, Any]]:
    everything = sorted(self.closed + self.open, key=lambda d: (d.start_s, d.freq_lo))
    return [d.as_dict() for d in everything]


def _batches(frames: Iterable[predict.Frame], size: int) -> Iterator[list[predict.Frame]]:
  batch = []
  for frame in frames:
    batch.append(frame)
    if len(batch) == size:
      yield batch
      batch = []
  if batch:
    yield batch


@functools.lru_cache(maxsize=4)
def _probabilities_fn(model):
  """One jitted softmax(model) per model, so repeated predict calls in a process compile once."""
  return jax.jit(lambda variables, images: jax.nn.softmax(model.apply(variables, images, train=False), -1))


@functools.lru_cache(maxsize=4)
def _load(model: str) -> trained_models.TrainedModel:
  return trained_models.load(model)


def predict_frames(trained: trained_models.TrainedModel, frames: Iterable[predict.Frame], *, batch_size: int = 8,
                   average: int = 1) -> Iterator[tuple[predict.Frame, np.ndarray, np.ndarray]]:
  """(frame, mask uint8 (H, W), probabilities (H, W, C)) per frame; `average` > 1 averages the class
  probabilities over that many consecutive frames (the current and the previous ones) before the argmax."""
  if average < 1:
    raise ValueError(f'--average must be at least 1, got {average}')
  apply = _probabilities_fn(trained.model)
  recent: collections.deque = collections.deque(maxlen=average)
  for batch in _batches(frames, batch_size):
    images = np.stack([f.image for f in batch]).astype(np.float32) / 255.0
    padded = np.concatenate([images, np.zeros((batch_size - len(batch),) + images.shape[1:], np.float32)])
    probabilities = np.asarray(apply(trained.variables, padded))[:len(batch)]
    for frame, p in zip(batch, probabilities):
      recent.append(p)
      scores = p if average == 1 else np.mean(recent, axis=0)
      mask = np.argmax(scores, -1).astype(np.uint8)
      mask[:, ~frame.valid_columns] = predict.NO_DATA
      mask[~frame.valid_rows] = predict.NO_DATA
      yield frame, mask, scores


def run_predict(inputs: list[str], output: str, *, model: str = trained_models.DEFAULT,
                sample_rate: float | None = None,
                dtype: str | None = None, center_frequency: float | None = None, mode: str | None = None,
                average: int = 1, figures: bool = True, batch_size: int = 8) -> dict[str, Any]:
  """Predicts every frame of `inputs` (one recording, or spectrogram PNGs) into `output`.

  Writes frame_NNNN_mask.png/.npy (class ids; 255 = no data), frame_NNNN.png (the two-panel figure, with
  `figures`) and detections.json. Returns the detections document. `mode` (the spectrogram mode) defaults to
  the model's; another mode raises, since the network has never seen such images.
  """
  if os.path.exists(output) and os.listdir(output):
    raise ValueError(f'{output} exists and is not empty; choose a new output folder')
  trained = _load(model)
  mode = mode or trained.spectrogram_mode
  if mode != trained.spectrogram_mode:
    raise ValueError(f'--mode={mode}: model {trained.name!r} was trained on {trained.spectrogram_mode}-mode '
                     f'spectrograms and mislabels {mode}-mode ones; use --mode={trained.spectrogram_mode} or a model '
                     f'trained on {mode}-mode ones (shipped: {trained_models.shipped_names(mode)})')
  size = (trained.image_size, trained.image_size)
  if all(p.lower().endswith('.png') for p in inputs):
    source = {'inputs': inputs, 'kind': 'spectrogram images'}
    frames = predict.image_frames(inputs, size)
  elif len(inputs) == 1:
    recording = predict.open_recording(inputs[0], sample_rate=sample_rate, dtype=dtype,
                                       center_frequency=center_frequency)
    source = {'input': inputs[0], 'sample_rate': recording.sample_rate, 'num_samples': int(recording.num_samples),
              'center_frequency': recording.center_frequency, 'mode': mode}
    frames = predict.recording_frames(recording, size, mode)
  else:
    raise ValueError(f'give one recording or only PNG spectrograms, got {inputs}')
  staging = output.rstrip('/') + '.partial'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  started = time.perf_counter()
  try:
    tracker, count = DetectionTracker(), 0
    for frame, mask, scores in predict_frames(trained, frames, batch_size=batch_size, average=average):
      stem = os.path.join(staging, f'frame_{frame.index:04d}')
      np.save(stem + '_mask.npy', mask)
      _save_mask_png(mask, stem + '_mask.png')
      if figures:
        plotting.save_prediction_figure(frame.image, mask, stem + '.png', center_frequency=frame.center_frequency,
                                        span_hz=frame.span_hz, start_s=frame.start_s, duration_s=frame.duration_s,
                                        title=f'frame {frame.index}')
      tracker.add(frame_carriers(mask, scores, frame), frame.start_s)
      count += 1
    document = {'model': trained.name, 'source': source, 'frames': count, 'average': average,
                'seconds': round(time.perf_counter() - started, 3), 'detections': tracker.result()}
    with open(os.path.join(staging, 'detections.json'), 'w') as f:
      json.dump(document, f, indent=1)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  if os.path.exists(output):
    os.rmdir(output)  # empty, checked above
  os.replace(staging, output)
  return document


def _save_mask_png(mask: np.ndarray, path: str) -> None:
  import PIL.Image  # pylint: disable=g-import-not-at-top
  PIL.Image.fromarray(mask).save(path)

