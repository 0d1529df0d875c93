"""Synthesis benchmark: one NR + LTE frame to a labelled image, against scipy's spectrogram alone; MathWorks-parity
frames against realistic ones (`SceneConfig.realistic()`, and with WLAN and radar), measured frame by frame in one
run."""

from __future__ import annotations

import statistics
import time

import scipy.signal

from specsense_jax import capture
from specsense_jax import spectrogram
from specsense_jax import synthetic
from specsense_jax.benchmarks import harness
from specsense_jax.signals import generate_frame
from specsense_jax.signals import scene_config
from specsense_jax.signals import SceneConfig

MATLAB_FRAME_CORE_SECONDS = 6 * 3600 / 2700  # MathWorks: 2,700 frames in an hour on 6 workers


def _labelled_image(seed: int, config: SceneConfig, size, mode):
  return synthetic.make_example(seed, config, synthetic.ImageConfig(size=size, spectrogram_mode=mode))


def _captured_image(seed: int, config: SceneConfig, size, mode):
  return capture.make_example(seed, config, synthetic.ImageConfig(size=size, spectrogram_mode=mode, scaling='floor'))


def parity_vs_realistic(num_frames: int, size=(128, 128), mode: str = 'matlab', reference=None) -> list[dict]:
  """Per-frame cost of parity frames, realistic scenes, and realistic scenes through a receiver and the capture
  path (what the realistic_* datasets hold), alternating seed by seed so that all see the same machine load;
  each frame draws other signals, so the figures are means and medians over the seeds.

  `reference` (a callable: scipy's spectrogram of one 40 ms frame) is timed in the same rotation, and each row's
  `speedup_vs_scipy` is its median over the reference's, measured side by side.
  """
  cases = {'MathWorks parity (SceneConfig())': (SceneConfig(image_width=size[1]), _labelled_image),
           'realistic scene (SceneConfig.realistic())': (SceneConfig.realistic(image_width=size[1]), _labelled_image),
           'realistic scene + receiver + capture path (realistic_* datasets)':
               (SceneConfig.realistic(image_width=size[1]), _captured_image),
           'realistic scene with WLAN and radar + receiver + capture path (realistic_128_wlan_radar)':
               (scene_config.SCENE_PRESETS['realistic_bursty'](image_width=size[1]), _captured_image)}
  for config, make in cases.values():  # warm caches (templates, FFT plans, filters) outside the timing
    make(10**6, config, size, mode)
  seconds = {name: [] for name in cases}
  reference_s = []
  for seed in range(num_frames):
    if reference is not None:
      t0 = time.perf_counter()
      reference()
      reference_s.append(time.perf_counter() - t0)
    for name, (config, make) in cases.items():
      t0 = time.perf_counter()
      make(seed, config, size, mode)
      seconds[name].append(time.perf_counter() - t0)
  parity_mean = statistics.fmean(next(iter(seconds.values())))
  rows = []
  if reference_s:
    rows.append({'work': f'scipy.signal.spectrogram alone, in the rotation below, {num_frames} times', 'size': '-',
                 'mode': '-', 'median_s': statistics.median(reference_s), 'mean_s': statistics.fmean(reference_s),
                 'speedup_vs_scipy': 1.0})
  for name, times in seconds.items():
    row = {'work': f'{name} frame -> image + mask, {num_frames} frames', 'size': f'{size[0]}x{size[1]}',
           'mode': mode, 'median_s': statistics.median(times), 'mean_s': statistics.fmean(times),
           'vs_parity_mean': statistics.fmean(times) / parity_mean}
    if reference_s:
      row['speedup_vs_scipy'] = statistics.median(reference_s) / statistics.median(times)
    rows.append(row)
  return rows


def run(options: harness.Options) -> list[dict]:
  """Times frame synthesis + image + mask per mode and size, and scipy.signal.spectrogram on the same IQ."""
  config = SceneConfig(scenes=('nr_lte',))
  frame = generate_frame(0, config)
  window = scipy.signal.windows.hann(spectrogram.MATLAB_WINDOW, sym=True)

  def scipy_spectrogram():
    scipy.signal.spectrogram(frame.iq, frame.sample_rate, window=window, noverlap=spectrogram.MATLAB_OVERLAP,
                             nfft=spectrogram.MATLAB_NFFT, return_onesided=False, detrend=False)

  repeats = max(1, options.repeats)
  reference = harness.time_call(scipy_spectrogram, repeats=repeats)
  rows = [{'work': 'scipy.signal.spectrogram alone (MATLAB params, 40 ms)', 'size': '-', 'mode': '-',
           'median_s': reference.median_s, 'core_s': reference.cpu_median_s, 'speedup_vs_scipy': 1.0}]
  seeds = iter(range(1, 10**6))
  cases = [((128, 128), 'matlab')] if options.quick else [
      ((128, 128), 'matlab'), ((256, 256), 'matlab'), ((128, 128), 'average'), ((256, 256), 'average')]
  for size, mode in cases:
    timing = harness.time_call(lambda: _labelled_image(next(seeds), config, size, mode), repeats=repeats)
    rows.append({'work': 'NR+LTE frame -> image + mask', 'size': f'{size[0]}x{size[1]}', 'mode': mode,
                 'median_s': timing.median_s, 'core_s': timing.cpu_median_s,
                 'speedup_vs_scipy': reference.median_s / timing.median_s,
                 'vs_matlab_core_s': MATLAB_FRAME_CORE_SECONDS / timing.cpu_median_s})
  for size, mode in cases[:2]:
    timing = harness.time_call(
        lambda: spectrogram.spectrogram_image(frame.iq, frame.sample_rate, size, mode), repeats=repeats)
    rows.append({'work': 'spectrogram_image only', 'size': f'{size[0]}x{size[1]}', 'mode': mode,
                 'median_s': timing.median_s, 'core_s': timing.cpu_median_s,
                 'speedup_vs_scipy': reference.median_s / timing.median_s})
  for name, make in (('nr_waveform 50 MHz 30 kHz', lambda: generate_frame(
      next(seeds), SceneConfig(scenes=('nr',), nr_bandwidths_mhz=(50,), nr_scs_khz=(30,), channel_models=('none',),
                               time_shift=False))),):
    timing = harness.time_call(make, repeats=repeats)
    rows.append({'work': f'{name} (no fading), whole frame', 'size': '-', 'mode': '-',
                 'median_s': timing.median_s, 'core_s': timing.cpu_median_s})
  rows += parity_vs_realistic(4 if options.quick else 40, reference=scipy_spectrogram)
  return rows
