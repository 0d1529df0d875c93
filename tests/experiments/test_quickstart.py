"""The quickstart job: every stage writes its report section, and the console stays short."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from specsense_jax.experiments import quickstart

REPO = pathlib.Path(__file__).resolve().parents[2]
# tqdm redraws a bar with carriage returns and cursor-up escapes; a finished bar's line ends in '.../s]'.
_PROGRESS_BAR = re.compile(r'\r|\x1b\[|\d+%\||\d+it \[|/s\]')


def test_environment_stage_writes_report(tmp_path):
  path = quickstart.run(str(tmp_path), ['environment'], echo=lambda s: None)
  text = open(path).read()
  assert '## Environment' in text
  assert json.loads((tmp_path / 'environment.json').read_text())['backend'] == 'cpu'


def test_unknown_stage_is_named():
  with pytest.raises(ValueError, match='nope'):
    quickstart.run('/tmp/unused', ['nope'])


@pytest.mark.slow
def test_whole_quickstart_reports_every_stage_in_a_short_console(tmp_path):
  env = dict(os.environ, SPECSENSE_TFDS_WORKERS='1')
  proc = subprocess.run([sys.executable, '-m', 'launch.quickstart', f'--workdir={tmp_path}',
                         '--dataset=synthetic_tiny', '--epochs=1'], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=1200)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = [line for line in (proc.stdout + proc.stderr).splitlines()
           if line.strip() and not _PROGRESS_BAR.search(line)]
  assert len(lines) < 60, '\n'.join(lines)
  assert proc.stdout.splitlines()[-1] == f'  report      {tmp_path / "report.md"}'
  assert [line.split()[0] for line in proc.stdout.splitlines()[-6:-1]] == list(quickstart.STAGES)
  text = (tmp_path / 'report.md').read_text()
  for section in ('## Environment', '## Signal synthesis', '## Dataset', '## Training', '## Prediction'):
    assert section in text
  assert "'train': 16" in text and "'test': 2" in text
  assert (tmp_path / 'synthesis.png').stat().st_size > 10_000 and (tmp_path / 'dataset.png').exists()
  assert (tmp_path / 'train' / 'eval_test' / 'report.md').exists()
  document = json.loads((tmp_path / 'predict' / 'detections.json').read_text())
  assert {d['standard'] for d in document['detections']} == {'NR', 'LTE'}
  assert (tmp_path / 'predict' / 'frame_0000.png').exists()
