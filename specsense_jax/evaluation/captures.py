"""How a trained network does on the real over-the-air captures: per-recording IoU of the annotated carriers
and of Noise, from the catalogued annotations (`io.catalog`), on the frames prediction sees (`frames`).

The model is scored in its own classes (`metrics.to_model_classes`): truth classes it lacks (Unknown, such as
other operators' carriers, under a three-class model) are left out, as are columns or rows the recording has no
data for and regions annotated Ignore. A class counts in a recording's mean IoU when it is in its truth or its
prediction.
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
from specsense_jax.training import tasks


def evaluate_recording(trained: trained_models.TrainedModel, recording: recordings.Recording) -> dict[str, Any]:
  """Confusion-matrix metrics of one recording's frames in the model's classes (truth of classes the model
  lacks and no-data pixels excluded); `iou_<class>` for each of the model's classes."""
  size = (trained.image_size, trained.image_size)
  class_names = tasks.class_names(trained.config)
  cut = list(frames.recording_frames(recording, size, trained.spectrogram_mode, scaling=trained.image_scaling))
  confusion = np.zeros((len(class_names),) * 2, np.int64)
  for frame, mask, _ in predict.predict_frames(trained, cut):
    # Annotations rasterize to CLASS_IDS, NO_LABEL where the recording has no data (as in `mask`).
    truth = metrics.to_model_classes(frames.label_mask(frame), constants.CLASS_NAMES, class_names)
    confusion += metrics.confusion_matrix(truth, mask, len(class_names))  # skips NO_LABEL on either side
  result = metrics.metrics_from_confusion(confusion)
  return {'recording': recording.name, 'frames': len(cut), 'pixels': int(confusion.sum()),
          'global_accuracy': result['global_accuracy'], 'mean_iou': result['mean_iou'],
          **{f'iou_{name}': (None if np.isnan(v) else float(v)) for name, v in zip(class_names, result['class_iou'])}}


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
  """The rows of `evaluate_captures` as a markdown table, one IoU column per class of the model."""
  fmt = lambda v: '–' if v is None else f'{v:.3f}'
  classes = [key[len('iou_'):] for key in rows[0] if key.startswith('iou_')] if rows else []
  lines = ['| recording | frames | ' + ''.join(f'IoU {c} | ' for c in classes) + 'mean IoU | pixel accuracy |',
           '|---|---|' + '---|' * len(classes) + '---|---|']
  lines += [f'| {r["recording"]} | {r["frames"]} | ' + ''.join(f'{fmt(r["iou_" + c])} | ' for c in classes)
            + f'{fmt(r["mean_iou"])} | {fmt(r["global_accuracy"])} |' for r in rows]
  return '\n'.join(lines) + '\n'
