"""How trained networks do on real recordings: per recording and per model, the IoU of each class and of the
annotated standard, and the share of its pixels called the other standard, on the frames prediction sees
(`frames`).

A folder's annotated recordings are its SigMF recordings with annotations and, for the raw captures the built-in
catalogue describes (`io.catalog`) and no SigMF file of theirs replaces, the catalogue's truth. Each model is scored
in its own classes (`metrics.to_model_classes`): truth classes it lacks (Unknown, such as other operators'
carriers, under a three-class model) are left out, as are columns or rows the recording has no data for and
regions annotated Ignore. A class counts in a recording's mean IoU when it is in its truth or its prediction.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from typing import Any, Iterator, Sequence

import numpy as np

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax import metrics
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import catalog
from specsense_jax.io import recordings

STANDARDS = ('NR', 'LTE')  # the classes whose confusion with each other the table reports
_SIGMF_PATTERNS = ('*.sigmf-meta', '*.sigmf', '*.sigmf.gz', '*.sigmf.xz', '*.sigmf.zip')


def annotated_recordings(captures_dir: str, scratch_dir: str) -> list[str]:
  """Paths of the annotated recordings in `captures_dir`, sorted by name.

  Its SigMF recordings (metadata files and archives) that carry annotations, and each raw capture of the catalogue
  present there without a SigMF recording of the same name, written to `scratch_dir` with the catalogue's truth.

  Raises:
    ValueError: naming the folder, when it does not exist or holds no annotated recording.
  """
  if not os.path.isdir(captures_dir):
    raise ValueError(f'{captures_dir}: captures folder not found (file not found)')
  found = {}
  for pattern in _SIGMF_PATTERNS:
    for path in glob.glob(os.path.join(captures_dir, pattern)):
      name = recordings.recording_name(path)
      if name not in found and recordings.read_recording(path).annotations:
        found[name] = path
  for capture in catalog.CAPTURES:
    name = os.path.splitext(capture.file)[0]
    if name not in found and os.path.isfile(os.path.join(captures_dir, capture.file)):
      found[name] = catalog.write_sigmf(capture, captures_dir, scratch_dir)
  if not found:
    raise ValueError(f'{captures_dir}: no annotated recording (SigMF with annotations, or a catalogued capture: '
                     f'{[c.file for c in catalog.CAPTURES]})')
  return [found[name] for name in sorted(found)]


def evaluate_recording(trained: trained_models.TrainedModel, recording: recordings.Recording, *,
                       band_plan: bool = False) -> dict[str, Any]:
  """Confusion-matrix metrics of one recording's frames in the model's classes (truth of classes the model
  lacks, no-data and Ignore pixels excluded); with `band_plan`, of predictions under the band-plan prior
  (`inference.band_plan`).

  Returns:
    {'recording', 'frames', 'pixels', 'global_accuracy', 'mean_iou', 'iou_<class>' for each of the model's
     classes, 'annotated': the standards in the truth ('NR', 'LTE' or 'NR+LTE'; '' for none), 'annotated_iou':
     the lowest IoU among them, 'other_standard': the largest share of an annotated standard's pixels predicted
     as the other one, 'other_standard_unscored': where one standard is annotated, the share of the pixels with
     data but no truth (Ignore) predicted as the other standard (unscored: what the network makes of what the
     truth cannot settle, such as a cell's channel beyond its proven extent), 'called_bursty': the share of its
     pixels predicted WLAN or Radar where the truth is neither (None for a model without those classes)}; None
     where a value has no pixels to measure.
  """
  class_names = trained.class_names
  confusion = np.zeros((len(class_names),) * 2, np.int64)
  unscored = np.zeros(len(class_names), np.int64)  # predictions where the recording has data but no truth (Ignore)
  frame_count = 0
  for frame, mask, _, label, truth in scored_frames(trained, recording, band_plan=band_plan):
    frame_count += 1
    confusion += metrics.confusion_matrix(truth, mask, len(class_names))  # skips NO_LABEL on either side
    ignored = (label == constants.NO_LABEL) & frame.valid_rows[:, None] & frame.valid_columns[None, :]
    unscored += np.bincount(mask[ignored & (mask != constants.NO_LABEL)], minlength=len(class_names))[
        :len(class_names)]
  result = metrics.metrics_from_confusion(confusion)
  iou = {name: (None if np.isnan(v) else float(v)) for name, v in zip(class_names, result['class_iou'])}
  annotated = [s for s in STANDARDS if s in class_names and confusion[class_names.index(s)].sum()]
  other = []
  for standard in annotated:
    row = confusion[class_names.index(standard)]
    rival = [s for s in STANDARDS if s != standard and s in class_names]
    other.append(float(sum(row[class_names.index(s)] for s in rival) / row.sum()))
  # One standard annotated: what the Ignore regions are called says whether the other standard is seen there too
  other_unscored = None
  if len(annotated) == 1 and unscored.sum():
    rival = [class_names.index(s) for s in STANDARDS if s != annotated[0] and s in class_names]
    other_unscored = float(unscored[rival].sum() / unscored.sum())
  return {'recording': recording.name, 'frames': frame_count, 'pixels': int(confusion.sum()),
          'global_accuracy': result['global_accuracy'], 'mean_iou': result['mean_iou'],
          **{f'iou_{name}': value for name, value in iou.items()},
          'annotated': '+'.join(annotated),
          'annotated_iou': min((iou[s] for s in annotated), default=None),
          'other_standard': max(other, default=None), 'other_standard_unscored': other_unscored,
          'called_bursty': called_bursty(confusion, class_names)}


def scored_frames(trained: trained_models.TrainedModel, recording: recordings.Recording, *, band_plan: bool = False
                  ) -> Iterator[tuple[frames.Frame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
  """(frame, predicted mask, probabilities, label mask in `constants.CLASS_IDS`, truth in the model's class ids)
  of each frame of `recording`; annotations rasterize to NO_LABEL where the recording has no data or says
  Ignore."""
  size = (trained.image_size, trained.image_size)
  cut = list(frames.recording_frames(recording, size, trained.spectrogram_mode, scaling=trained.image_scaling))
  for frame, mask, probabilities in predict.predict_frames(trained, cut, band_plan=band_plan):
    label = frames.label_mask(frame)
    yield frame, mask, probabilities, label, metrics.to_model_classes(label, constants.CLASS_NAMES,
                                                                      trained.class_names)


def called_bursty(confusion: np.ndarray, class_names: Sequence[str]) -> float | None:
  """The share of a confusion matrix's pixels predicted WLAN or Radar where the truth is neither (None for
  classes without those, or no pixels)."""
  bursty = [class_names.index(c) for c in constants.BURSTY_LABELS if c in class_names]
  if not bursty or not confusion.sum():
    return None
  truth_other = [i for i in range(len(class_names)) if i not in bursty]
  return float(confusion[np.ix_(truth_other, bursty)].sum() / confusion.sum())


def evaluate_captures(captures_dir: str, models: str | Sequence[str] = trained_models.DEFAULT,
                      output_dir: str | None = None, band_plan: bool = False) -> list[dict[str, Any]]:
  """Evaluates each model on every annotated recording in `captures_dir` (`annotated_recordings`).

  Args:
    captures_dir: folder of SigMF recordings with annotations and/or the catalogued raw captures.
    models: a shipped model name, packaged folder or workdir, or several; 'all' for every shipped model.
    output_dir: where captures.json and captures.md go (None: not written).
    band_plan: evaluate each model a second time under the band-plan prior (WLAN and Radar only inside their
      allocations; rows named '<model> + band plan'), so that one table shows what the prior changes.

  Returns:
    One row per (model, recording) (`evaluate_recording`), with 'model' and 'held_out' (the recording is one of
    `catalog.HELD_OUT`, kept out of every decision).
  """
  if isinstance(models, str):
    models = trained_models.shipped_names() if models == 'all' else [models]
  rows = []
  with tempfile.TemporaryDirectory() as scratch:
    paths = annotated_recordings(captures_dir, scratch)
    for model in models:
      trained = trained_models.load(model)
      for prior in (False, True) if band_plan else (False,):
        for path in paths:
          row = evaluate_recording(trained, recordings.read_recording(path), band_plan=prior)
          held_out = row['recording'] in catalog.HELD_OUT_NAMES
          name = os.path.basename(os.path.normpath(model)) + (' + band plan' if prior else '')
          rows.append({'model': name, **row, 'held_out': held_out, 'band_plan': prior})
  if output_dir:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, 'captures.json'), 'w') as f:
      json.dump(rows, f, indent=1)
    with open(os.path.join(output_dir, 'captures.md'), 'w') as f:
      f.write(markdown_table(rows))
  return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
  """The rows of `evaluate_captures` as one markdown table: the annotated standard's IoU and the share called the
  other standard (and, where measured, the share of the Ignore pixels called it), then one IoU column per class
  any model has (– where a model lacks the class or nothing is there to measure), and, when a model has WLAN or
  Radar, the share of pixels wrongly called either; held-out recordings are marked."""
  fmt = lambda v: '–' if v is None else f'{v:.3f}'
  classes = []
  for row in rows:
    classes += [k[len('iou_'):] for k in row if k.startswith('iou_') and k[len('iou_'):] not in classes]
  bursty = any(r.get('called_bursty') is not None for r in rows)
  ignored = any(r.get('other_standard_unscored') is not None for r in rows)
  lines = ['| model | recording | frames | annotated | IoU annotated | other standard | '
           + ('other standard in Ignore | ' if ignored else '')
           + ''.join(f'IoU {c} | ' for c in classes) + ('called WLAN/Radar | ' if bursty else '')
           + 'mean IoU | pixel accuracy |',
           '|---|---|---|---|---|---|' + '---|' * (len(classes) + bursty + ignored) + '---|---|']
  for r in rows:
    name = r['recording'] + (' (held out)' if r.get('held_out') else '')
    lines.append(f'| {r.get("model", "")} | {name} | {r["frames"]} | {r.get("annotated") or "–"} | '
                 f'{fmt(r.get("annotated_iou"))} | {fmt(r.get("other_standard"))} | '
                 + (f'{fmt(r.get("other_standard_unscored"))} | ' if ignored else '')
                 + ''.join(f'{fmt(r.get("iou_" + c))} | ' for c in classes)
                 + (f'{fmt(r.get("called_bursty"))} | ' if bursty else '')
                 + f'{fmt(r["mean_iou"])} | {fmt(r["global_accuracy"])} |')
  return '\n'.join(lines) + '\n'
