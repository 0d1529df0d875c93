"""Predict benchmark: real-time factor (processing time / recording duration) from a 61.44 Msps ci16 SigMF
recording of 1 s to masks and detections with the shipped model of each spectrogram mode (no figures), and with
any networks given in `Options.models` (in their own mode), in the same run; each row gives the share of the
time spent per stage of `predict.STAGES` (reading and framing with the spectrogram, the network, masks and
detections, writing).

With `Options.baseline` (another checkout of this project, e.g. `git worktree add ../old REV`), the default
of each mode is instead alternated with the baseline's own default in a subprocess that imports the baseline's
code (as its launchers would run it), call by call on the same recording, and each row gives their ratio."""

from __future__ import annotations

import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from specsense_jax.benchmarks import harness
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import sigmf
from specsense_jax.signals import generate_frame
from specsense_jax.signals import SceneConfig

RATE = 61.44e6
TARGET_RTF = {'matlab': 0.25, 'average': 1.0}
# (mode, shipped model): the default of each mode, and the full-resolution network for comparison
CASES = (('matlab', trained_models.DEFAULT), ('average', 'custom_synthetic_128_average'),
         ('matlab', 'custom_synthetic_128'))


def _recording(directory: str, seconds: float) -> str:
  """NR + LTE frames back to back, as ci16."""
  frames = [generate_frame(seed, SceneConfig(scenes=('nr_lte',))).iq for seed in range(int(round(seconds / 0.04)))]
  iq = np.concatenate(frames)
  return sigmf.write_recording(os.path.join(directory, 'bench'), iq / (1.05 * np.abs(iq).max()), RATE,
                               center_frequency=3.5e9, datatype='ci16_le')


# Runs in the baseline's folder with its code first on the path; answers each "mode model" line with the seconds
# one predict took. `import launch` with argv[0] '-m' sets XLA_FLAGS as that tree's `python -m launch.*` does.
_BASELINE_WORKER = r"""
import json, os, shutil, sys, tempfile, time
meta, out_dir = sys.argv[1:3]
sys.argv = ['-m']
import launch
from specsense_jax.inference import predict, trained_models
print(json.dumps({'default': trained_models.DEFAULT, 'code': os.path.abspath(predict.__file__)}), flush=True)
for k, line in enumerate(sys.stdin):
  mode, model = line.split()
  out = os.path.join(out_dir, f'baseline_{k}')
  started = time.perf_counter()
  predict.run_predict([meta], out, model=model, mode=mode, figures=False)
  print(time.perf_counter() - started, flush=True)
  shutil.rmtree(out)
"""


# Pause before each call: a call's aftermath (the OS writing back and deleting its files, idle threads spinning
# down) otherwise slows the other tree's next call; measured, back to back it shifts the ratio by 8 %.
_SETTLE_S = 0.3


class _Baseline:
  """The baseline checkout's predict in a subprocess: `time(mode, model)` -> seconds of one call."""

  def __init__(self, folder: str, meta: str, directory: str):
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, 'specsense_jax', 'inference', 'predict.py')):
      raise ValueError(f'--baseline={folder}: not a checkout of this project (no specsense_jax/inference/predict.py '
                       'there); make one with `git worktree add DIR REV`')
    env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}  # its launchers choose its flags
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [folder, env.get('PYTHONPATH', '')]))
    self.log = os.path.join(directory, 'baseline_stderr.txt')  # a file: a full pipe would stall the worker
    with open(self.log, 'w') as log:
      self.process = subprocess.Popen([sys.executable, '-c', _BASELINE_WORKER, meta, directory], cwd=folder,
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    hello = self._answer()
    info = json.loads(hello)
    if not info['code'].startswith(folder + os.sep):
      self.close()
      raise ValueError(f'--baseline={folder}: its worker imported {info["code"]}, not the baseline\'s code')
    self.default = info['default']

  def _answer(self) -> str:
    line = self.process.stdout.readline()
    if not line:
      self.close()
      with open(self.log) as log:
        error = log.read().strip().splitlines()
      raise RuntimeError(f'the baseline predict failed: {error[-1] if error else "no output"}')
    return line

  def time(self, mode: str, model: str) -> float:
    self.process.stdin.write(f'{mode} {model}\n')
    self.process.stdin.flush()
    return float(self._answer())

  def close(self) -> None:
    if self.process.poll() is None:
      self.process.stdin.close()
      self.process.wait()


def _baseline_rows(options: harness.Options, meta: str, seconds: float, directory: str) -> list[dict]:
  """Each mode's default here and the baseline's default alternated call by call (first call of each: warm-up)."""
  baseline = _Baseline(options.baseline, meta, directory)
  try:
    rows = []
    for mode, model in CASES[:2]:
      theirs = baseline.default if mode == 'matlab' else model
      ours_s, theirs_s = [], []
      for k in range(max(1, options.repeats) + 1):
        output = os.path.join(directory, f'ours_{mode}_{k}')
        time.sleep(_SETTLE_S)
        started = time.perf_counter()
        predict.run_predict([meta], output, model=model, mode=mode, figures=False)
        ours = time.perf_counter() - started
        shutil.rmtree(output)
        time.sleep(_SETTLE_S)
        theirs_k = baseline.time(mode, theirs)
        if k:
          ours_s.append(ours)
          theirs_s.append(theirs_k)
      ours_median, theirs_median = statistics.median(ours_s), statistics.median(theirs_s)
      rows.append({'work': f'predict {seconds:g} s ci16 SigMF at 61.44 Msps, alternated with the baseline',
                   'mode': mode, 'model': model, 'baseline_model': theirs,
                   'real_time_factor': ours_median / seconds, 'baseline_real_time_factor': theirs_median / seconds,
                   'ratio_to_baseline': ours_median / theirs_median})
    return rows
  finally:
    baseline.close()


def run(options: harness.Options) -> list[dict]:
  seconds = 0.2 if options.quick else 1.0
  directory = tempfile.mkdtemp(prefix='specsense_predict_bench_')
  try:
    meta = _recording(directory, seconds)
    if options.baseline:
      return _baseline_rows(options, meta, seconds, directory)
    rows = []
    extra = tuple((trained_models.load(m).spectrogram_mode, m) for m in options.models)
    for mode, model in CASES + extra:
      output = os.path.join(directory, f'out_{model}')

      stages = []

      def once():
        shutil.rmtree(output, ignore_errors=True)
        stages.append({})
        predict.run_predict([meta], output, model=model, mode=mode, figures=False, stage_seconds=stages[-1])
      timing = harness.time_call(once, repeats=max(1, options.repeats), warmup=1)
      timed = stages[1:]  # the warm-up call's compile is not a stage
      rows.append({'work': f'predict {seconds:g} s ci16 SigMF at 61.44 Msps -> masks + detections',
                   'mode': mode, 'model': model, 'median_s': timing.median_s, 'core_s': timing.cpu_median_s,
                   'real_time_factor': timing.median_s / seconds, 'target_rtf': TARGET_RTF[mode],
                   # each stage's median time over the call's median: where the time goes (the rest: Python glue)
                   **{f'{stage}_share': statistics.median(t[stage] for t in timed) / timing.median_s
                      for stage in predict.STAGES}})
    return rows
  finally:
    shutil.rmtree(directory, ignore_errors=True)
