"""Predict benchmark: real-time factor (processing time / recording duration) from a 61.44 Msps ci16 SigMF
recording of 1 s to masks and detections with the shipped model of each spectrogram mode (no figures), and with
any networks given in `Options.models` (in their own mode), in the same run; each row gives the share of the
time spent per stage of `predict.STAGES` (reading and framing with the spectrogram, the network, masks and
detections, writing)."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile

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


def run(options: harness.Options) -> list[dict]:
  seconds = 0.2 if options.quick else 1.0
  directory = tempfile.mkdtemp(prefix='specsense_predict_bench_')
  try:
    meta = _recording(directory, seconds)
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
