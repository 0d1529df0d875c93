"""How a trained network does on the real over-the-air captures: per-recording IoU of the annotated carriers
and of Noise, from the catalogued annotations (`capture_catalog`).

Pixels labelled Unknown in the truth (other operators' carriers) and columns or rows the recording has no data
for are left out. A class counts in a recording's mean IoU when it is in its truth or its prediction.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax import metrics
from specsense_jax import spectrogram
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import catalog
from specsense_jax.io import recordings

CLASSES = ('Noise', 'NR', 'LTE')


def _frames_and_truth(recording, size: tuple[int, int], mode: str):
  for frame, source in frames.captured_frame_images(recording, size, mode):
    yield frame, spectrogram.label_mask(source.annotations, constants.MODEL_RATE, len(source.iq), size)


def evaluate_recording(trained: trained_models.TrainedModel, recording) -> dict[str, Any]:
  """Confusion-matrix metrics of one recording's frames (Unknown truth and no-data pixels excluded)."""
  size = (trained.image_size, trained.image_size)
  pairs = list(_frames_and_truth(recording, size, trained.spectrogram_mode))
  confusion = np.zeros((3, 3), np.int64)
  for (frame, mask, _), (_, truth) in zip(predict.predict_frames(trained, [f for f, _ in pairs]), pairs):
    keep = (mask != constants.NO_LABEL) & (truth < 3)
    confusion += metrics.confusion_matrix(truth[keep], mask[keep], 3)
  result = metrics.metrics_from_confusion(confusion)
  return {'recording': recording.name, 'frames': len(pairs), 'pixels': int(confusion.sum()),
          'global_accuracy': result['global_accuracy'], 'mean_iou': result['mean_iou'],
          **{f'iou_{name}': (None if np.isnan(v) else float(v)) for name, v in zip(CLASSES, result['class_iou'])}}


def evaluate_captures(captures_dir: str, model: str = trained_models.DEFAULT,
                      output_dir: str | None = None) -> list[dict[str, Any]]:
  """Evaluates `model` on every catalogued capture in `captures_dir`; writes captures.json/.md to `output_dir`."""
  trained = trained_models.load(model)
  with tempfile.TemporaryDirectory() as scratch:
    rows = [evaluate_recording(trained, recordings.read_recording(meta))
            for meta in catalog.write_all(captures_dir, scratch)]
  if output_dir:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, 'captures.json'), 'w') as f:
      json.dump(rows, f, indent=1)
    with open(os.path.join(output_dir, 'captures.md'), 'w') as f:
      f.write(markdown_table(rows))
  return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
  fmt = lambda v: '–' if v is None else f'{v:.3f}'
  lines = ['| recording | frames | IoU Noise | IoU NR | IoU LTE | mean IoU | pixel accuracy |',
           '|---|---|---|---|---|---|---|']
  lines += [f'| {r["recording"]} | {r["frames"]} | {fmt(r["iou_Noise"])} | {fmt(r["iou_NR"])} | '
            f'{fmt(r["iou_LTE"])} | {fmt(r["mean_iou"])} | {fmt(r["global_accuracy"])} |' for r in rows]
  return '\n'.join(lines) + '\n'
