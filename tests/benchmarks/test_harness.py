"""The benchmark harness (not a timed test: it checks the harness' bookkeeping)."""

import json
import os
import subprocess
import sys

import pytest

from specsense_jax.benchmarks import harness


def test_time_call_counts_repeats_and_reports_median():
  calls = []
  timing = harness.time_call(lambda: calls.append(1), repeats=4, warmup=2)
  assert len(calls) == 6
  assert len(timing.samples) == 4
  assert (timing.min_s, timing.median_s) == (min(timing.samples), sum(sorted(timing.samples)[1:3]) / 2)  # of 4


def test_time_call_rejects_zero_repeats():
  with pytest.raises(ValueError, match='repeats'):
    harness.time_call(lambda: None, repeats=0)


def test_format_table_aligns_union_of_columns():
  table = harness.format_table([{'a': 1, 'b': 2.0}, {'a': 10, 'c': 'x'}])
  lines = table.splitlines()
  assert lines[0].split() == ['a', 'b', 'c']
  assert set(lines[1]) <= {'-', ' '}
  assert lines[3].split() == ['10', 'x']


def test_unknown_benchmark_lists_known_names():
  with pytest.raises(ValueError, match='devices'):
    harness.resolve('nope')


def test_cli_writes_json_report(tmp_path):
  out = tmp_path / 'sub' / 'bench.json'
  proc = subprocess.run(
      [sys.executable, '-m', 'launch.benchmark', 'devices', '--quick', '--repeats=1', f'--output={out}'],
      capture_output=True, text=True, check=True)
  assert 'tflops' in proc.stdout
  report = json.loads(out.read_text())
  rows = report['results']['devices']
  assert [r['dtype'] for r in rows] == ['float32', 'bfloat16']
  assert all(r['tflops'] == pytest.approx(2 * 512**3 / (r['median_ms'] / 1e3) / 1e12) for r in rows)  # 2n^3 FLOPs
  assert report['environment']['backend'] == 'cpu'
  if sys.platform == 'linux':  # launch/__init__ restarted the entry point with huge-page malloc
    assert 'glibc.malloc.hugetlb=1' in report['environment']['glibc_tunables']
  import launch  # pylint: disable=g-import-not-at-top
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  if metadata.version('jaxlib').startswith(launch._FLAGS_KNOWN_IN):  # pylint: disable=protected-access
    # XLA:CPU's own kernels for convolutions and matmuls, beside the flags the tests set
    assert report['environment']['xla_flags'].split() == os.environ.get('XLA_FLAGS', '').split() + [
        launch.XLA_CPU_FLAGS]


@pytest.mark.skipif(sys.platform != 'linux', reason='glibc tunables')
@pytest.mark.parametrize('env,expected', [
    ({'GLIBC_TUNABLES': 'glibc.malloc.trim_threshold=1000000'},
     'glibc.malloc.trim_threshold=1000000:glibc.malloc.hugetlb=1'),  # kept, and the tunable appended once
    ({'SPECSENSE_HUGEPAGE_MALLOC': '0', 'SPECSENSE_XLA_CPU_FLAGS': '0'}, ''),  # the opt-outs
])
def test_entry_points_restart_with_huge_page_malloc(tmp_path, env, expected):
  out = tmp_path / 'bench.json'
  base = {k: v for k, v in os.environ.items() if k not in ('GLIBC_TUNABLES', 'SPECSENSE_HUGEPAGE_MALLOC')}
  subprocess.run([sys.executable, '-m', 'launch.benchmark', 'devices', '--quick', '--repeats=1', f'--output={out}'],
                 capture_output=True, text=True, check=True, env={**base, **env})
  environment = json.loads(out.read_text())['environment']
  assert environment['glibc_tunables'] == expected
  if env.get('SPECSENSE_XLA_CPU_FLAGS') == '0':
    assert 'ynn' not in environment['xla_flags']


def test_cellsearch_benchmark_quick_rows():
  rows = harness.resolve('cellsearch')(harness.Options(repeats=1, quick=True))
  assert [r['snr_db'] for r in rows] == [15, 20] * 2 and all(r['trials'] == 2 for r in rows)
  assert all(r['cell_found'] == r['mib_decoded'] == 1.0 and r['median_s'] > 0 for r in rows)


def test_generation_benchmark_quick_rows():
  rows = harness.resolve('generation')(harness.Options(repeats=1, quick=True))
  assert rows[0]['work'].startswith('scipy.signal.spectrogram')
  assert all(r['speedup_vs_scipy'] == pytest.approx(rows[0]['median_s'] / r['median_s']) for r in rows[:3])
  assert any(r.get('mode') == 'matlab' for r in rows)


def test_predict_benchmark_times_given_models_in_their_mode(monkeypatch):
  from specsense_jax.benchmarks import predict  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(predict, 'CASES', ())  # only the given network: a quick check of the bookkeeping
  rows = harness.resolve('predict')(harness.Options(repeats=1, quick=True, models=('custom_synthetic_128_average',)))
  assert [(r['mode'], r['model']) for r in rows] == [('average', 'custom_synthetic_128_average')]
  assert rows[0]['real_time_factor'] == pytest.approx(rows[0]['median_s'] / 0.2)
  shares = [rows[0][f'{stage}_share'] for stage in predict.predict.STAGES]
  assert all(share > 0 for share in shares) and 0.5 < sum(shares) <= 1.0  # the stages are most of the call


def _peer_python() -> str:
  """The interpreter with torch and smp: SPECSENSE_PEER_PYTHON, else this one."""
  return os.environ.get('SPECSENSE_PEER_PYTHON', sys.executable)


def _has_peer(python: str) -> bool:
  return subprocess.run([python, '-c', 'import torch, segmentation_models_pytorch'], capture_output=True).returncode == 0


def test_peer_benchmark_times_smp_beside_ours_in_the_same_run():
  python = _peer_python()
  if not _has_peer(python):
    pytest.skip('torch and segmentation-models-pytorch are not installed (pip install -e ".[bench]")')
  rows = harness.resolve('models')(harness.Options(repeats=1, quick=True, peer=True, peer_python=python))
  like, peer, default = rows
  assert like['model'] == 'deeplabv3plus_resnet18 decoder_convs=1' and default['model'] == 'deeplabv3plus_resnet18'
  assert peer['model'].startswith('smp DeepLabV3Plus resnet18') and peer['size'] == 64 and peer['batch'] == 2
  for row in (like, default):
    assert row['train_vs_peer'] == pytest.approx(row['train_img_s'] / peer['train_img_s'])
    assert row['infer_vs_peer'] == pytest.approx(row['infer_img_s'] / peer['infer_img_s'])
  # like for like: smp's decoder has one separable conv, ours two, so ours does more work per image
  assert like['train_gflop_per_img'] < default['train_gflop_per_img']


def test_peer_benchmark_without_torch_says_how_to_install(tmp_path):
  python = sys.executable
  if _has_peer(python):
    pytest.skip('this interpreter has the peer')
  from specsense_jax.benchmarks import models  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match=r'--peer needs torch and segmentation-models-pytorch in .*pip install -e '
                                       r'"\.\[bench\]", or pass --peer_python'):
    models.measure_peer('resnet18', 64, 2, 1, python)


def test_pipeline_benchmark_rates_the_input_pipeline_beside_the_train_step(tiny_data_dir):
  rows = harness.resolve('pipeline')(harness.Options(repeats=1, quick=True, data_dir=tiny_data_dir))
  [row] = rows
  assert row['dataset'] == 'spectrum_sensing/synthetic_tiny' and row['size'] == 64 and row['batch'] == 16
  assert row['first_pass_img_s'] > 0 and row['cached_img_s'] > 0
  assert row['step_model'] == 'custom stem_stride=2 widths=(8, 16)'
  assert row['cached_over_step'] == pytest.approx(row['cached_img_s'] / row['train_img_s'])


def test_predict_benchmark_alternates_with_a_baseline_checkout(repo_dir, tmp_path, monkeypatch):
  from specsense_jax.benchmarks import predict  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(predict, '_SETTLE_S', 0.0)
  monkeypatch.setattr(predict, 'CASES', predict.CASES[:1])  # matlab mode only: one network to compile per side
  # this checkout against itself: the baseline's worker imports the code of the folder it is given
  rows = harness.resolve('predict')(harness.Options(repeats=1, quick=True, baseline=str(repo_dir)))
  assert [(r['mode'], r['model'], r['baseline_model']) for r in rows] == [
      ('matlab', 'custom_realistic_128', 'custom_realistic_128')]
  for row in rows:
    assert row['ratio_to_baseline'] == pytest.approx(row['real_time_factor'] / row['baseline_real_time_factor'])
    assert 0.2 < row['ratio_to_baseline'] < 5  # one call each, same code: the same work
  with pytest.raises(ValueError, match=r'--baseline=.*: not a checkout of this project'):
    harness.resolve('predict')(harness.Options(repeats=1, quick=True, baseline=str(tmp_path)))
  broken = tmp_path / 'broken'  # a checkout whose predict cannot be imported: its error is what is raised
  for package in ('specsense_jax', 'specsense_jax/inference', 'launch'):
    (broken / package).mkdir(parents=True)
    (broken / package / '__init__.py').write_text('')
  (broken / 'specsense_jax/inference/predict.py').write_text('raise ImportError("baseline broken")\n')
  with pytest.raises(RuntimeError, match='the baseline predict failed: ImportError: baseline broken'):
    harness.resolve('predict')(harness.Options(repeats=1, quick=True, baseline=str(broken)))
