"""Packaged model folders from what `train_256.py` sent back, and the frame specs it needs.

  python scripts/device/assemble.py --specs --data_dir=DIR  # specs.json; class_weights.json from a realistic_256
                                                            # build in DIR (needs TFDS)
  python scripts/device/assemble.py --results=DIR --output=PARENT

With --results: for each model in DIR/results.json whose run finished, PARENT/deeplabv3plus_E_realistic_256 with
config.json (configs/realistic.py:encoder=E,size=256 with the run's batch, epochs and bfloat16, and what loading
needs: spectrogram mode, image scaling, class names), variables.msgpack (the parts joined, length checked),
test_metrics.json (realistic_256 test) and history.json (epochs, validation, timings). The report, the
confusion matrices and the per-capture table come from `launch.evaluate` and `launch.evaluate_captures` run on
the folder afterwards.
"""

import argparse
import dataclasses
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
SPECS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'specs.json')
CONFIGS = ('realistic_256', 'synthetic_256')


def write_class_weights(data_dir: str) -> None:
  """class_weights.json: realistic_256 train's median-frequency weights (what launch.train computes), so that
  train_256.py compiles its steps before the frames exist; it checks them against the frames it makes."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import tfds_builders.spectrum_sensing  # pylint: disable=g-import-not-at-top,unused-import
  from specsense_jax.training import optim  # pylint: disable=g-import-not-at-top
  ds = tfds.load('spectrum_sensing/realistic_256', split='train', data_dir=data_dir)
  masks = np.stack([ex['mask'][..., 0] for ex in tfds.as_numpy(ds)])
  weights = optim.median_frequency_weights(*optim.class_pixel_statistics([masks], 4))
  with open(os.path.join(os.path.dirname(SPECS), 'class_weights.json'), 'w') as f:
    json.dump({'realistic_256': weights.tolist()}, f, indent=1)
    f.write('\n')


def write_specs() -> None:
  # pylint: disable-next=g-import-not-at-top
  from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder as builder
  configs = {c.name: c for c in builder.Builder.BUILDER_CONFIGS}
  specs = {name: dataclasses.asdict(configs[name].synthetic_spec()) for name in CONFIGS}
  with open(SPECS, 'w') as f:
    json.dump(specs, f, indent=1)
    f.write('\n')


def assemble(results_dir: str, parent: str) -> list[str]:
  from configs import realistic  # pylint: disable=g-import-not-at-top
  with open(os.path.join(results_dir, 'results.json')) as f:
    results = json.load(f)
  made = []
  for name, run in results.get('train', {}).items():
    parts = sorted(glob.glob(os.path.join(results_dir, f'{name}.msgpack.part*')),
                   key=lambda p: int(p.rsplit('part', 1)[1]))
    if not parts or 'synthetic_256_test' not in run:
      print(f'{name}: the run did not finish; nothing assembled')
      continue
    blob = b''.join(open(p, 'rb').read() for p in parts)
    if len(blob) != run['variables_bytes']:
      raise ValueError(f'{name}: the parts hold {len(blob)} bytes, results.json says {run["variables_bytes"]}')
    config = realistic.get_config(f'encoder={name.removeprefix("deeplabv3plus_")},size=256')
    with config.unlocked():
      config.half_precision, config.batch_size, config.num_epochs = True, run['batch'], run['epochs']
      config.num_classes, config.data_dir = 4, None
    recorded = json.loads(config.to_json_best_effort())
    recorded.update(spectrogram_mode='matlab', image_scaling='floor', class_names=['Noise', 'NR', 'LTE', 'Unknown'])
    out = os.path.join(parent, f'{name}_realistic_256')
    os.makedirs(out)
    with open(os.path.join(out, 'variables.msgpack'), 'wb') as f:
      f.write(blob)
    for file, value in (('config.json', recorded), ('test_metrics.json', run['realistic_256_test']),
                        ('history.json', {k: run.get(k) for k in (
                            'history', 'epochs', 'steps', 'compile_s', 'step_s', 'train_img_s',
                            'device_pipeline_img_s', 'best_validation_mean_iou', 'synthetic_256_test')}
                         | {'class_weights': results.get('class_weights'), 'devices': results.get('devices'),
                            'jax': results.get('jax')})):
      with open(os.path.join(out, file), 'w') as f:
        json.dump(value, f, indent=1)
    made.append(out)
    print('assembled', out)
  return made


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--specs', action='store_true')
  parser.add_argument('--data_dir', help='with --specs: where realistic_256 is built, for class_weights.json')
  parser.add_argument('--results')
  parser.add_argument('--output')
  args = parser.parse_args()
  if args.specs:
    write_specs()
    if args.data_dir:
      write_class_weights(args.data_dir)
  if args.results:
    if not args.output:
      parser.error('--results needs --output')
    assemble(args.results, args.output)


if __name__ == '__main__':
  main()
