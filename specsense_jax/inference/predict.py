"""Runs a trained network over a recording's frames: masks, figures and one detections JSON per recording.

`run_predict` writes into a temporary folder beside `output` and renames it at the end, so a bad or corrupt
input leaves nothing half-written. Frames stream through in small batches; the only state kept across frames
is the score average and the detections still open.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import functools
import json
import os
import shutil
import time
from typing import Any, Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax import plotting
from specsense_jax.inference import band_plan as band_plan_lib
from specsense_jax.inference import detections
from specsense_jax.inference import trained_models
from specsense_jax.io import recordings


STAGES = ('frames', 'network', 'masks + detections', 'write')  # where `run_predict(stage_seconds=...)` times go


class _Clock:
  """Seconds per stage, summed over the calls (`with clock('network'): ...`); a no-op without a dict."""

  def __init__(self, seconds: dict[str, float] | None):
    self.seconds = seconds
    if seconds is not None:
      for stage in STAGES:
        seconds.setdefault(stage, 0.0)

  @contextlib.contextmanager
  def __call__(self, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
      yield
    finally:
      if self.seconds is not None:
        self.seconds[name] += time.perf_counter() - started

  def timed(self, items: Iterable[Any], name: str) -> Iterator[Any]:
    """`items` with the time spent making each counted under `name` (a generator's work happens in next)."""
    iterator = iter(items)
    while True:
      with self(name):
        item = next(iterator, _Clock)
      if item is _Clock:
        return
      yield item


def _batches(stream: Iterable[frames.Frame], size: int) -> Iterator[list[frames.Frame]]:
  batch = []
  for frame in stream:
    batch.append(frame)
    if len(batch) == size:
      yield batch
      batch = []
  if batch:
    yield batch


@functools.lru_cache(maxsize=4)
def _probabilities_fn(model):
  """One jitted (softmax(model / temperature + log prior), its argmax as uint8) per model over uint8 images
  (scaled on the device: a quarter of the bytes to move), so repeated predict calls in a process compile once per
  batch size. The argmax is taken there too: fused with the softmax it costs a fraction of numpy's pass over the
  scores."""
  def probabilities(variables, images, temperature, log_prior):
    logits = model.apply(variables, images.astype(jnp.float32) / 255.0, train=False)
    p = jax.nn.softmax(logits / temperature + log_prior, -1)
    return p, jnp.argmax(p, -1).astype(jnp.uint8)
  return jax.jit(probabilities)


def image_probabilities(trained: trained_models.TrainedModel, images: np.ndarray) -> np.ndarray:
  """Class probabilities (n, H, W, C) of uint8 images (n, H, W, 3), as `predict_frames` computes them (temperature
  and class prior; no band plan)."""
  probabilities, _ = _probabilities_fn(trained.model)(trained.variables, images, np.float32(trained.temperature),
                                                      trained.log_prior)
  return np.asarray(probabilities)


@functools.lru_cache(maxsize=16)
def _allowed(class_names: tuple[str, ...], center_frequency: float | None, span_hz: float, width: int) -> np.ndarray:
  return band_plan_lib.allowed_classes(class_names, center_frequency, span_hz, width)


def _padded_size(count: int, batch_size: int) -> int:
  """The batch a partial batch of `count` frames runs as: the next power of two (at most `batch_size`), so the
  last batch of a recording wastes little work and few sizes are compiled."""
  return min(batch_size, 1 << max(0, count - 1).bit_length())


@functools.lru_cache(maxsize=4)
def _load(model: str) -> trained_models.TrainedModel:
  return trained_models.load(model)


def predict_frames(trained: trained_models.TrainedModel, stream: Iterable[frames.Frame], *, batch_size: int = 8,
                   average: int = 1, stage_seconds: dict[str, float] | None = None, band_plan: bool = False
                   ) -> Iterator[tuple[frames.Frame, np.ndarray, np.ndarray]]:
  """(frame, mask uint8 (H, W), probabilities (H, W, C)) per frame; `average` > 1 averages the class
  probabilities over that many consecutive frames (the current and the previous ones) before the argmax.
  `stage_seconds` (optional) sums the time of making frames, the network and the masks per `STAGES`.
  `band_plan` removes WLAN and Radar from the columns outside their allocations (`band_plan.restrict`; frames
  need their centre frequency).

  One batch is in flight: the network of batch k runs (JAX dispatches asynchronously) while batch k+1's frames
  are made, so 'network' counts only the time spent waiting for it.
  """
  if average < 1:
    raise ValueError(f'--average must be at least 1, got {average}')
  clock = _Clock(stage_seconds)
  apply = _probabilities_fn(trained.model)
  class_names = trained.class_names if band_plan else ()  # read from the config once, not per frame
  log_prior = trained.log_prior
  recent: collections.deque = collections.deque(maxlen=average)

  def launch(batch):
    images = np.stack([f.image for f in batch])
    padded = np.concatenate([images, np.zeros((_padded_size(len(batch), batch_size) - len(batch),)
                                              + images.shape[1:], np.uint8)])
    return batch, apply(trained.variables, padded, np.float32(trained.temperature), log_prior)

  def finish(batch, pending):
    with clock('network'):
      probabilities, argmax = np.asarray(pending[0])[:len(batch)], np.array(pending[1])[:len(batch)]  # writable
    for frame, p, top in zip(batch, probabilities, argmax):
      with clock('masks + detections'):
        if band_plan:
          p = band_plan_lib.restrict(p, _allowed(class_names, frame.center_frequency, frame.span_hz, p.shape[1]))
          top = np.argmax(p, -1).astype(np.uint8)
        recent.append(p)
        scores = p if average == 1 else np.mean(recent, axis=0)
        mask = top if average == 1 else np.argmax(scores, -1).astype(np.uint8)
        mask[:, ~frame.valid_columns] = constants.NO_LABEL
        mask[~frame.valid_rows] = constants.NO_LABEL
      yield frame, mask, scores

  in_flight, batches = None, _batches(clock.timed(stream, 'frames'), batch_size)
  while True:
    try:
      batch = next(batches, None)
      if batch is not None:
        with clock('network'):
          launched = launch(batch)
    except Exception:  # a bad frame: the batch already computed is still given, as before the batch in flight
      if in_flight is not None:
        yield from finish(*in_flight)
      raise
    if in_flight is not None:
      yield from finish(*in_flight)
    if batch is None:
      return
    in_flight = launched


def run_predict(inputs: list[str], output: str, *, model: str = trained_models.DEFAULT,
                sample_rate: float | None = None,
                dtype: str | None = None, center_frequency: float | None = None, mode: str | None = None,
                average: int = 1, figures: bool = True, batch_size: int = 8,
                stage_seconds: dict[str, float] | None = None, band_plan: bool | None = None) -> dict[str, Any]:
  """Predicts every frame of `inputs` (one recording, or spectrogram PNGs) into `output`.

  Writes frame_NNNN_mask.png/.npy (the model's class ids, named by detections.json's `classes`; 255 = no data),
  frame_NNNN.png (spectrogram, labels and calibrated confidence, with `figures`) and detections.json. Returns the
  detections document.
  `mode` (the spectrogram mode) defaults to the model's; another mode raises, since the network has never seen
  such images. `stage_seconds` (optional) receives the seconds spent per stage (`STAGES`; opening the
  recording counts under 'frames'). `band_plan` calls WLAN and Radar only inside their allocations
  (`band_plan.py`); True needs a recording with its centre frequency; None (default) follows the model
  (`TrainedModel.band_plan`: on for models with WLAN or Radar) where the centre frequency is known.
  """
  clock = _Clock(stage_seconds)
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
    if band_plan:
      raise ValueError('--band_plan needs a recording with its centre frequency; PNG spectrograms have none')
    band_plan = False
    source = {'inputs': inputs, 'kind': 'spectrogram images'}
    stream = frames.image_frames(inputs, size)
  elif len(inputs) == 1:
    with clock('frames'):
      recording = recordings.open_recording(inputs[0], sample_rate=sample_rate, dtype=dtype,
                                            center_frequency=center_frequency)
    source = {'input': inputs[0], 'sample_rate': recording.sample_rate, 'num_samples': int(recording.num_samples),
              'center_frequency': recording.center_frequency, 'mode': mode}
    if band_plan is None:  # the model's default, where the frequency allows it
      band_plan = trained.band_plan and band_plan_lib.has_frequency(recording.center_frequency)
    if band_plan:  # checked before anything is written
      band_plan_lib.check_frequency(recording.center_frequency)
    stream = frames.recording_frames(recording, size, mode, scaling=trained.image_scaling)
  else:
    raise ValueError(f'give one recording or only PNG spectrograms, got {inputs}')
  staging = output.rstrip('/') + '.partial'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  started = time.perf_counter()
  writer = concurrent.futures.ThreadPoolExecutor(1)  # file writes overlap the next frame's work (I/O and zlib
  try:                                                 # release the GIL)
    tracker, count, writes = detections.DetectionTracker(), 0, collections.deque()
    class_names = trained.class_names  # read from the config once, not per frame
    for frame, mask, scores in predict_frames(trained, stream, batch_size=batch_size, average=average,
                                              stage_seconds=stage_seconds, band_plan=band_plan):
      stem = os.path.join(staging, f'frame_{frame.index:04d}')
      with clock('write'):
        while writes and writes[0].done():
          writes.popleft().result()  # a failed write stops the run at the next frame
        writes.append(writer.submit(_save_mask, mask, stem))
        if figures:
          plotting.save_prediction_figure(frame.image, mask, stem + '.png', center_frequency=frame.center_frequency,
                                          span_hz=frame.span_hz, start_s=frame.start_s, duration_s=frame.duration_s,
                                          title=f'frame {frame.index}', confidence=scores.max(axis=-1))
      with clock('masks + detections'):
        tracker.add(detections.frame_carriers(mask, scores, frame, class_names), frame.start_s)
      count += 1
    with clock('write'):
      for write in writes:
        write.result()  # raises a failed write's error here
    document = {'model': trained.name, 'classes': list(trained.class_names), 'source': source, 'frames': count,
                'average': average, 'band_plan': band_plan, 'seconds': round(time.perf_counter() - started, 3),
                'detections': tracker.result()}
    with clock('write'), open(os.path.join(staging, 'detections.json'), 'w') as f:
      json.dump(document, f, indent=1)
  except BaseException:
    writer.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(staging, ignore_errors=True)
    raise
  writer.shutdown()
  if os.path.exists(output):
    os.rmdir(output)  # empty, checked above
  os.replace(staging, output)
  return document


def _save_mask(mask: np.ndarray, stem: str) -> None:
  import PIL.Image  # pylint: disable=g-import-not-at-top
  np.save(stem + '_mask.npy', mask)
  PIL.Image.fromarray(mask).save(stem + '_mask.png', compress_level=1)  # a few class ids: zlib's fastest level

