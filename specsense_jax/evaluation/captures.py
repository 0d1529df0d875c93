"""How a trained network does on the real over-the-air captures: per-recording IoU of the annotated carriers
and of Noise, from the catalogued annotations (`io.catalog`), on the frames prediction sees (`frames`).

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
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import catalog
from specsense_jax.io import recordings

CLASSES = ('Noise', 'NR', 'LTE')


def evaluate_recording(trained: trained_models.TrainedModel, recording: recordings.Recording) -> dict[str, Any]:
  """Confusion-matrix metrics of one recording's frames (Unknown truth and no-data pixels excluded)."""
  size = (trained.image_size, trained.image_size)
  cut = list(frames.recording_frames(recording, size, trained.spectrogram_mode))
  confusion = np.zeros((3, 3), np.int64)
  for frame, mask, _ in predict.predict_frames(trained, cut):
    truth = frames.label_mask(frame)  # NO_LABEL where the recording has no data, as in `mask`
    keep = (mask != constants.NO_LABEL) & (truth < 3)
    confusion += metrics.confusion_matrix(truth[keep], mask[keep], 3)
  result = metrics.metrics_from_confusion(confusion)
  return {'recording': recording.name, 'frames': len(cut), 'pixels': int(confusion.sum()),
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
