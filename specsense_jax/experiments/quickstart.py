"""The README's main job: everything the framework can do, end to end, on this machine in minutes.

Each stage writes into `workdir` and adds a section to `workdir/report.md`; later capabilities add stages.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from typing import Callable

import ml_collections

from specsense_jax import plotting
from specsense_jax import signals
from specsense_jax import spectrogram
from specsense_jax import synthetic
from specsense_jax.constants import FRAME_S
from specsense_jax.constants import MODEL_RATE
from specsense_jax.benchmarks import harness


QUICKSTART_DATASET = 'synthetic_small'
QUICKSTART_EPOCHS = 20  # about a minute with the stride-2 default network


@dataclasses.dataclass
class Report:
  """Markdown report assembled stage by stage."""
  workdir: str
  train_config: ml_collections.ConfigDict | None = None  # the training stage's config (the launcher's default)
  dataset: str = QUICKSTART_DATASET  # spectrum_sensing config the dataset and train stages build and train on
  epochs: int = QUICKSTART_EPOCHS
  sections: list[str] = dataclasses.field(default_factory=list)
  summaries: list[str] = dataclasses.field(default_factory=list)  # one line per stage, for the console

  def add(self, title: str, body: str, summary: str) -> None:
    self.sections.append(f'## {title}\n\n{body.strip()}\n')
    self.summaries.append(summary)

  def write(self) -> str:
    path = os.path.join(self.workdir, 'report.md')
    with open(path + '.tmp', 'w') as f:
      f.write('# specsense_jax quickstart report\n\n' + '\n'.join(self.sections))
    os.replace(path + '.tmp', path)
    return path


def environment_stage(report: Report) -> None:
  """Records the software and devices the run used."""
  env = harness.environment()
  with open(os.path.join(report.workdir, 'environment.json'), 'w') as f:
    json.dump(env, f, indent=2)
  report.add('Environment', '\n'.join(f'- {k}: {v}' for k, v in env.items()),
             f'jax {env["jax"]} on {len(env["devices"])} {env["backend"]} device(s), {env["cpu_count"]} cores')


def synthesis_stage(report: Report) -> None:
  """Synthesizes one NR, one LTE and one NR + LTE frame and draws their images and masks."""
  scene_config = signals.SceneConfig(occupancy_cells=True)
  rows, lines = [], []
  for seed, scene_name in enumerate(('nr', 'lte', 'nr_lte')):
    config = dataclasses.replace(scene_config, scenes=(scene_name,))
    start = time.perf_counter()
    frame = signals.generate_frame(seed, config)
    elapsed = time.perf_counter() - start
    images = {f'{mode} spectrogram': spectrogram.spectrogram_image(frame.iq, frame.sample_rate, (256, 256), mode)
              for mode in ('matlab', 'average')}
    masks = {f'{mode} labels': spectrogram.label_mask(frame.annotations, frame.sample_rate, len(frame.iq),
                                                      (256, 256), mode) for mode in ('band', 'occupancy')}
    signals_text = ', '.join(
        f'{s["standard"]} {s["bandwidth_mhz"]:g} MHz' + (f' @ {s["scs_khz"]} kHz' if 'scs_khz' in s else '') +
        f' at {s["center_frequency_hz"] / 1e6:+.1f} MHz' for s in frame.params['signals'])
    rows.append({'title': f'{scene_name}: {signals_text}', 'images': images, 'masks': masks})
    lines.append(f'- `{scene_name}` (seed {seed}): {signals_text}; SNR {frame.snr_db:.1f} dB, Doppler '
                 f'{frame.params["doppler_hz"]:.0f} Hz; whole 40 ms frame rendered in {elapsed:.2f} s')
  start = time.perf_counter()
  for seed in range(20):
    synthetic.make_example(seed, scene_config)
  per_example = (time.perf_counter() - start) / 20
  path = plotting.save_example_grid(rows, os.path.join(report.workdir, 'synthesis.png'),
                                    scene_config.sample_rate, scene_config.duration_s)
  report.add('Signal synthesis', '\n'.join(lines) + f'\n\nA labelled 128x128 example (matlab mode) takes '
             f'{per_example * 1e3:.0f} ms here.\n\n![frames]({os.path.basename(path)})',
             f'NR, LTE and NR + LTE frames drawn in {path}; a labelled example takes {per_example * 1e3:.0f} ms')


def dataset_stage(report: Report) -> None:
  """Builds a small TFDS dataset with the spectrum_sensing builder and draws a few of its examples."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  config = report.dataset
  data_dir = os.path.join(report.workdir, 'tfds')
  start = time.perf_counter()
  builder = tfds.builder(f'spectrum_sensing/{config}', data_dir=data_dir)
  builder.download_and_prepare()
  elapsed = time.perf_counter() - start
  splits = {name: info.num_examples for name, info in builder.info.splits.items()}
  rows = []
  for example in tfds.as_numpy(builder.as_dataset(split='test').take(2)):
    rows.append({'title': f'{config} test frame {int(example["frame_index"])} ({example["scene"].decode()})',
                 'images': {'image': example['image']}, 'masks': {'mask': example['mask'][..., 0]}})
  path = plotting.save_example_grid(rows, os.path.join(report.workdir, 'dataset.png'), MODEL_RATE, FRAME_S)
  report.add('Dataset', f'`spectrum_sensing/{config}` built in {elapsed:.1f} s at `{data_dir}`; splits: '
             f'{splits}.\n\nLoad it with `tfds.load("spectrum_sensing/{config}", data_dir="{data_dir}")` after '
             f'`import tfds_builders.spectrum_sensing`.\n\n![examples]({os.path.basename(path)})',
             f'spectrum_sensing/{config} built in {elapsed:.0f} s ({sum(splits.values())} frames) in {data_dir}')


def train_stage(report: Report) -> None:
  """Trains the default network briefly on the small dataset, evaluates it and reports (needs 'dataset')."""
  from specsense_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
  from specsense_jax.training import train  # pylint: disable=g-import-not-at-top

  if report.train_config is None:
    raise ValueError('the train stage needs a training config: quickstart.run(..., train_config=...)')
  dataset = report.dataset
  config = ml_collections.ConfigDict(report.train_config.to_dict())
  with config.unlocked():
    config.dataset = f'spectrum_sensing/{dataset}'
    config.data_dir = os.path.join(report.workdir, 'tfds')
    config.num_epochs = report.epochs
    config.log_every_steps = 10
  workdir = os.path.join(report.workdir, 'train')
  shutil.rmtree(workdir, ignore_errors=True)  # a fresh run each time: the report times it
  start = time.perf_counter()
  train.train_and_evaluate(config, workdir)
  elapsed = time.perf_counter() - start
  result = reports.evaluate_workdir(workdir, 'test')
  figure = os.path.relpath(os.path.join(workdir, 'eval_test', 'confusion_matrix.png'), report.workdir)
  report.add('Training', f'`{config.model}` trained on `{config.dataset}` for {config.num_epochs} epochs in '
             f'{elapsed:.0f} s (workdir `{workdir}`; a smoke run: the full recipe is '
             '`python -m launch.train --config=configs/default.py`).\n\n'
             f'Test split: global accuracy {result["global_accuracy"]:.3f}, mean IoU {result["mean_iou"]:.3f}, '
             f'mean BF {result["mean_bf_score"]:.3f}. Full report: `{workdir}/eval_test/report.md`.'
             f'\n\n![confusion matrix]({figure})',
             f'{config.model} trained {config.num_epochs} epochs in {elapsed:.0f} s: test mean IoU '
             f'{result["mean_iou"]:.3f}, global accuracy {result["global_accuracy"]:.3f} ({workdir})')


def predict_stage(report: Report) -> None:
  """Writes a 80 ms synthetic SigMF recording and finds its carriers with the shipped model."""
  import numpy as np  # pylint: disable=g-import-not-at-top

  from specsense_jax.inference import predict  # pylint: disable=g-import-not-at-top
  from specsense_jax.io import sigmf  # pylint: disable=g-import-not-at-top
  center = 3.5e9
  frame = signals.generate_frame(100, signals.SceneConfig(scenes=('nr_lte',), duration_s=0.08))
  meta = sigmf.write_recording(os.path.join(report.workdir, 'recording'), frame.iq / (1.05 * np.abs(frame.iq).max()),
                               frame.sample_rate, center_frequency=center, datatype='ci16_le')
  truth = [f'{s["standard"]} {(center + s["center_frequency_hz"]) / 1e6:.1f} MHz, {s["bandwidth_mhz"]:g} MHz'
           for s in frame.params['signals']]
  output = os.path.join(report.workdir, 'predict')
  shutil.rmtree(output, ignore_errors=True)
  document = predict.run_predict([meta], output)
  rows = ['| standard | centre (MHz) | bandwidth (MHz) | time (ms) | confidence |', '|---|---|---|---|---|']
  rows += [f'| {d["standard"]} | {d["center_frequency_mhz"]:.1f} | {d["bandwidth_mhz"]:.1f} | '
           f'{d["start_s"] * 1e3:.0f}-{d["end_s"] * 1e3:.0f} | {d["confidence"]:.2f} |' for d in document['detections']]
  report.add('Prediction', f'`python -m launch.predict --input={meta} --output={output}` with the shipped model '
             f'`{document["model"]}`: {document["frames"]} frames in {document["seconds"]:.1f} s.\n\n'
             f'Transmitted: {"; ".join(truth)}.\n\nDetected (`{output}/detections.json`):\n\n' + '\n'.join(rows)
             + '\n\n![frame 0](predict/frame_0000.png)',
             'found ' + ', '.join(f'{d["standard"]} at {d["center_frequency_mhz"]:.1f} MHz ({d["bandwidth_mhz"]:.0f} MHz)'
                                  for d in document['detections']) + f' in {output}')


STAGES: dict[str, Callable[[Report], None]] = {
    'environment': environment_stage,
    'synthesis': synthesis_stage,
    'dataset': dataset_stage,
    'train': train_stage,
    'predict': predict_stage,
}


def run(workdir: str, stages: list[str] | None = None, echo: Callable[[str], None] = print,
        train_config: ml_collections.ConfigDict | None = None, dataset: str = QUICKSTART_DATASET,
        epochs: int = QUICKSTART_EPOCHS) -> str:
  """Runs the quickstart stages in order and returns the report path.

  Args:
    workdir: where the outputs and report.md go.
    stages: names from `STAGES` (default: all, in order).
    echo: prints one line per stage.
    train_config: the train stage's config (the launcher passes configs/default.py's).
    dataset: spectrum_sensing config the dataset and train stages build and train on.
    epochs: training epochs.
  """
  names = stages or list(STAGES)
  unknown = [n for n in names if n not in STAGES]
  if unknown:
    raise ValueError(f'Unknown quickstart stage(s) {unknown}; known: {list(STAGES)}')
  os.makedirs(workdir, exist_ok=True)
  report = Report(workdir, train_config, dataset, epochs)
  started = time.perf_counter()
  for name in names:
    echo(f'[quickstart] {name} ...')
    STAGES[name](report)
  path = report.write()
  echo(f'[quickstart] done in {time.perf_counter() - started:.0f} s')
  for name, summary in zip(names, report.summaries):
    echo(f'  {name:<11} {summary}')
  echo(f'  report      {path}')
  return path
