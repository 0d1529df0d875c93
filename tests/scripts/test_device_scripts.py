"""scripts/device: its frame specs are the builder's, and gen_frames writes the dataset's own frames by split."""

import dataclasses
import importlib.util
import json
import os

import numpy as np

from specsense_jax import spectrogram
from specsense_jax.data import examples
from specsense_jax.data import splits
from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder as builder

DEVICE = os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'device')


def _module(name):
  spec = importlib.util.spec_from_file_location(name, os.path.join(DEVICE, f'{name}.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_specs_json_is_the_builders():
  with open(os.path.join(DEVICE, 'specs.json')) as f:
    specs = json.load(f)
  configs = {c.name: c for c in builder.Builder.BUILDER_CONFIGS}
  for name, fields in specs.items():  # a config changed without `assemble.py --specs` would train other frames
    assert json.loads(json.dumps(dataclasses.asdict(configs[name].synthetic_spec()))) == fields, name
  assert _module('gen_frames').load_spec('realistic_256') == configs['realistic_256'].synthetic_spec()


def test_gen_frames_writes_the_builders_examples_by_split(tmp_path, monkeypatch):
  monkeypatch.setenv('GEN_WORKERS', '1')
  _module('gen_frames').main(['gen_frames.py', 'synthetic_256', str(tmp_path), '--frames', '10'])
  spec = builder.Builder.builder_configs['synthetic_256'].synthetic_spec()
  assert (tmp_path / 'DONE').exists()
  for split in splits.SPLITS:
    grey = np.load(tmp_path / f'synthetic_256_{split}_grey.npy')
    mask = np.load(tmp_path / f'synthetic_256_{split}_mask.npy')
    indices = [k for k in range(10) if splits.split_of(k) == split]
    assert len(grey) == len(mask) == len(indices)
    for i, k in enumerate(indices):
      _, ex = examples.synthetic_example(spec, k)
      np.testing.assert_array_equal(spectrogram.colorize(grey[i]), ex['image'])
      np.testing.assert_array_equal(mask[i], ex['mask'][..., 0])
