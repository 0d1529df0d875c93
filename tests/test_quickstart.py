"""The quickstart job writes its report."""

import json

import pytest

from configs import default
from specsense_jax.experiments import quickstart
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the dataset


def test_environment_stage_writes_report(tmp_path):
  path = quickstart.run(str(tmp_path), ['environment'], echo=lambda s: None)
  text = open(path).read()
  assert '## Environment' in text
  assert json.loads((tmp_path / 'environment.json').read_text())['backend'] == 'cpu'


def test_unknown_stage_is_named():
  with pytest.raises(ValueError, match='nope'):
    quickstart.run('/tmp/unused', ['nope'])


def test_synthesis_stage_writes_figure(tmp_path):
  path = quickstart.run(str(tmp_path), ['synthesis'], echo=lambda s: None)
  text = open(path).read()
  assert '## Signal synthesis' in text and 'synthesis.png' in text
  assert (tmp_path / 'synthesis.png').stat().st_size > 10_000


def test_dataset_and_train_stages_on_tiny_data(tmp_path, monkeypatch):
  monkeypatch.setenv('SPECSENSE_TFDS_WORKERS', '1')
  monkeypatch.setattr(quickstart, 'QUICKSTART_DATASET', 'synthetic_tiny')
  monkeypatch.setattr(quickstart, 'QUICKSTART_EPOCHS', 1)
  path = quickstart.run(str(tmp_path), ['dataset', 'train'], echo=lambda s: None,
                        train_config=default.get_config('runlocal'))
  text = open(path).read()
  assert "'train': 16" in text and "'test': 2" in text
  assert (tmp_path / 'dataset.png').exists()
  assert '## Training' in text and (tmp_path / 'train' / 'eval_test' / 'report.md').exists()


def test_predict_stage_finds_the_transmitted_standards(tmp_path):
  path = quickstart.run(str(tmp_path), ['predict'], echo=lambda s: None)
  text = open(path).read()
  assert '## Prediction' in text and (tmp_path / 'predict' / 'frame_0000.png').exists()
  document = json.loads((tmp_path / 'predict' / 'detections.json').read_text())
  assert {d['standard'] for d in document['detections']} == {'NR', 'LTE'}
