"""Launchers: a user's mistake is one line on stderr and exit status 2; --verbosity=1 shows the traceback."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _launch(*args: str) -> subprocess.CompletedProcess:
  env = dict(os.environ, SPECSENSE_HUGEPAGE_MALLOC='0')
  return subprocess.run([sys.executable, '-m', *args], cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=300)


@pytest.mark.parametrize('args,message', [
    (('launch.train', '--config=configs/missing.py', '--workdir=/tmp/unused'),
     "error: --config: [Errno 2] No such file or directory: 'configs/missing.py'"),
    (('launch.train', '--config=configs/default.py', '--workdir=/tmp/unused', '--config.learnig_rate=0.1'),
     'error: --config.learnig_rate: the config has no such key'),
    (('launch.train', '--config=configs/default.py', '--workdir=/tmp/unused', '--config.batch_size=abc'),
     "error: flag --config.batch_size=abc: invalid literal for int() with base 10: 'abc'"),
    (('launch.predict', '--input=/nonexistent/rec.sigmf-meta', '--output=/tmp/unused_out'),
     'error: /nonexistent/rec.sigmf-meta: file not found'),
    (('launch.evaluate_captures', '--captures=/nonexistent'),
     'error: /nonexistent: captures folder not found (file not found)'),
    (('launch.calibrate', '--model=no_such_model'),
     "error: 'no_such_model' is neither a packaged model folder nor a shipped model; shipped: "),
    (('launch.select_prior', '--model=no_such_model', '--captures=/nonexistent'),
     "error: 'no_such_model' is neither a packaged model folder nor a shipped model; shipped: "),
    (('launch.select_prior', '--model=custom_realistic_128', '--captures=/nonexistent', '--divisors=1,x'),
     "error: --divisors must be numbers, got ['1', 'x']"),
])
def test_user_mistake_is_one_line_and_status_2(args, message):
  proc = _launch(*args)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stdout == ''
  assert proc.stderr.splitlines() == [proc.stderr.splitlines()[0]] and proc.stderr.startswith(message)


def test_verbosity_brings_the_traceback_back():
  proc = _launch('launch.predict', '--input=/nonexistent/rec.sigmf-meta', '--output=/tmp/unused_out',
                 '--verbosity=1')
  assert proc.returncode == 1
  assert 'Traceback (most recent call last)' in proc.stderr
  assert 'ValueError: /nonexistent/rec.sigmf-meta: file not found' in proc.stderr
