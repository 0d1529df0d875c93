"""Fine-tuning on auto-labelled recordings, measured leave-one-recording-out against hand-made truth.

For each recording R with truth in `truth_dir` (SigMF annotations, or the built-in catalogue's for its raw
captures: `evaluation.captures.annotated_recordings`), the training config runs in `workdir/<R>` with R's frames
(and those of every `always_excluded` recording) left out of every training dataset (`config.exclude_recordings`),
starting from `config.init_from`; its best checkpoint and the starting network are then scored on R's frames
against its truth (`evaluation.captures.evaluate_recording`). So no fold ever trains on the recording it is
scored on, and recordings kept out of every decision stay out of every fold's training.

Writes `workdir/leave_one_out.json` and `.md`; rerunning skips finished folds and resumes an interrupted one.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Sequence

import ml_collections

from specsense_jax.evaluation import captures
from specsense_jax.inference import trained_models
from specsense_jax.io import recordings
from specsense_jax.training import train


def _row(name: str, before: dict[str, Any], after: dict[str, Any], held_out: bool,
         test: dict[str, Any]) -> dict[str, Any]:
  pick = lambda r, k: r.get(k)
  return {'recording': name, 'held_out': held_out, 'annotated': after['annotated'],
          'annotated_iou_before': pick(before, 'annotated_iou'), 'annotated_iou_after': pick(after, 'annotated_iou'),
          'other_standard_before': pick(before, 'other_standard'),
          'other_standard_after': pick(after, 'other_standard'),
          'mean_iou_before': before['mean_iou'], 'mean_iou_after': after['mean_iou'],
          'test_mean_iou_after': test.get('mean_iou')}


def _cell(value: float | None) -> str:
  return '–' if value is None else f'{value:.3f}'


def markdown(rows: list[dict[str, Any]], dataset: str) -> str:
  """The leave-one-recording-out table: each recording's annotated-standard IoU and the share called the other
  standard, before and after fine-tuning without it, and the fold's test mean IoU on `dataset`."""
  lines = ['# Fine-tuning on auto-labelled recordings, leave one recording out', '',
           'Each row: the network fine-tuned without that recording, scored on it against its hand-made truth '
           '(before = the starting network). Held-out recordings are never in any fold\'s training.', '',
           f'| recording | annotated | IoU before | IoU after | other standard before | after | {dataset} test '
           'mIoU after |', '|---|---|---|---|---|---|---|']
  for r in rows:
    name = r['recording'] + (' (held out)' if r['held_out'] else '')
    lines.append(f"| {name} | {r['annotated']} | {_cell(r['annotated_iou_before'])} | "
                 f"{_cell(r['annotated_iou_after'])} | {_cell(r['other_standard_before'])} | "
                 f"{_cell(r['other_standard_after'])} | {_cell(r['test_mean_iou_after'])} |")
  for held in (False, True):
    chosen = [r for r in rows if r['held_out'] == held and r['annotated_iou_after'] is not None]
    if chosen:
      mean = lambda key: sum(r[key] or 0.0 for r in chosen) / len(chosen)
      lines.append(f"| mean of {len(chosen)} {'held-out' if held else 'development'} | | "
                   f"{mean('annotated_iou_before'):.3f} | {mean('annotated_iou_after'):.3f} | | | |")
  return '\n'.join(lines) + '\n'


def leave_one_recording_out(config: ml_collections.ConfigDict, workdir: str, truth_dir: str, *,
                            recordings_to_score: Sequence[str] | None = None,
                            always_excluded: Sequence[str] = ()) -> list[dict[str, Any]]:
  """Runs every fold (see the module docstring) and writes the table.

  Args:
    config: a training config with `init_from` set (the network every fold starts from) and the auto-labelled
      recordings among its training datasets (`dataset` or `train_mix`).
    workdir: one subfolder per fold, and leave_one_out.json / .md.
    truth_dir: the recordings with their hand-made truth.
    recordings_to_score: names (file names without extension) to score; default every annotated recording of
      `truth_dir`.
    always_excluded: names left out of every fold's training (e.g. `io.catalog.HELD_OUT` without extension).

  Returns:
    One row per recording: the annotated standard's IoU, the share called the other standard and the mean IoU,
    before and after, and the fold's test mean IoU.
  """
  if not config.get('init_from'):
    raise ValueError('leave_one_recording_out: config.init_from must name the network to fine-tune')
  config = ml_collections.ConfigDict(config.to_dict())
  config.init_from = trained_models.resolve(config.init_from)  # a shipped model's name, or a folder
  train.check_config(config)
  starting = trained_models.load(config.init_from)
  always_excluded = tuple(always_excluded)
  rows = []
  with tempfile.TemporaryDirectory() as scratch:
    paths = {recordings.recording_name(p): p for p in captures.annotated_recordings(truth_dir, scratch)}
    names = list(recordings_to_score) if recordings_to_score is not None else sorted(paths)
    unknown = sorted(set(names) - set(paths))
    if unknown:
      raise ValueError(f'{truth_dir}: no annotated recording named {unknown}; there are {sorted(paths)}')
    for i, name in enumerate(names):
      fold_dir = os.path.join(workdir, name)
      fold_config = ml_collections.ConfigDict(config.to_dict())
      fold_config.exclude_recordings = ','.join(dict.fromkeys((name,) + always_excluded))
      done = os.path.join(fold_dir, 'test_metrics.json')
      if os.path.exists(done):
        train.say(f'fold {i + 1}/{len(names)} ({name}): done before')
        with open(done) as f:
          test = json.load(f)
      else:
        train.say(f'fold {i + 1}/{len(names)} ({name}): fine-tuning without it in {fold_dir}')
        test = train.train_and_evaluate(fold_config, fold_dir)
        if 'preempted_at_step' in test:  # rerun to resume this fold; nothing half-trained is scored
          train.say(f'leave one out: stopped in fold {i + 1} ({name}) for preemption; rerun to resume')
          return rows
      recording = recordings.read_recording(paths[name])
      before = captures.evaluate_recording(starting, recording)
      after = captures.evaluate_recording(trained_models.load(fold_dir), recording)
      rows.append(_row(name, before, after, name in always_excluded, test))
  os.makedirs(workdir, exist_ok=True)
  for filename, text in (('leave_one_out.json', json.dumps(rows, indent=1)),
                         ('leave_one_out.md', markdown(rows, config.dataset))):
    with open(os.path.join(workdir, filename + '.tmp'), 'w') as f:
      f.write(text)
    os.replace(os.path.join(workdir, filename + '.tmp'), os.path.join(workdir, filename))
  return rows
