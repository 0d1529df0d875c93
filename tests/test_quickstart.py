"""The quickstart job writes its report."""

import json

import pytest

from specsense_jax import quickstart


def test_environment_stage_writes_report(tmp_path):
  path = quickstart.run(str(tmp_path), ['environment'], echo=lambda s: None)
  text = open(path).read()
  assert '## Environment' in text
  assert json.loads((tmp_path / 'environment.json').read_text())['backend'] == 'cpu'


def test_unknown_stage_is_named():
  with pytest.raises(ValueError, match='nope'):
    quickstart.run('/tmp/unused', ['nope'])
