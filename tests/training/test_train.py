"""train_and_evaluate end to end on the tiny dataset: CLI, resume equivalence, config errors."""

import dataclasses
import json
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
import tensorflow_datasets as tfds

from specsense_jax import constants
from specsense_jax.training import checkpoints
from specsense_jax.training import train
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _latest_params(workdir):
  return jax.tree.leaves(checkpoints.restore_variables(str(workdir), 'latest')['params'])


def _steps_on_disk(workdir):
  """The committed checkpoint steps of a workdir (Orbax renames a step's folder to its number when committed)."""
  return sorted(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit())


def test_relative_workdir(tiny_config, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  train.train_and_evaluate(tiny_config(max_steps=2), 'runs/relative')
  assert (tmp_path / 'runs' / 'relative' / 'test_metrics.json').exists()
  from specsense_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
  assert reports.evaluate_workdir('runs/relative', 'test')['num_images'] == 2


def test_resumed_run_ends_with_same_parameters(tiny_config, tmp_path):
  # piecewise: the learning rate of a step must not depend on max_steps, which differs between the two halves
  whole = train.train_and_evaluate(tiny_config(max_steps=4, schedule='piecewise'), str(tmp_path / 'whole'))
  train.train_and_evaluate(tiny_config(max_steps=2, schedule='piecewise'), str(tmp_path / 'split'))
  resumed = train.train_and_evaluate(tiny_config(max_steps=4, schedule='piecewise'), str(tmp_path / 'split'))
  for a, b in zip(_latest_params(tmp_path / 'whole'), _latest_params(tmp_path / 'split')):
    np.testing.assert_array_equal(a, b)  # same program, same batches, state restored exactly: bit for bit
  assert resumed['mean_iou'] == pytest.approx(whole['mean_iou'])
  history = json.loads((tmp_path / 'split' / 'history.json').read_text())
  assert [e['step'] for e in history['epochs']] == [2, 4]
  # resuming with another model or recipe would restore mismatched checkpoints: refused, nothing rewritten
  before = (tmp_path / 'split' / 'config.json').read_text()
  changed = tiny_config(max_steps=6, schedule='piecewise', learning_rate=0.5, model_kwargs={'widths': (8, 24)})
  with pytest.raises(ValueError, match=r"split holds checkpoints of a run with another config \(learning_rate "
                                       r"0\.1 -> 0\.5; model_kwargs\.widths \[8, 16\] -> \[8, 24\]\)"):
    train.train_and_evaluate(changed, str(tmp_path / 'split'))
  assert (tmp_path / 'split' / 'config.json').read_text() == before


def _cli_args(data_dir, workdir):
  """launch.train on the tiny data, 12 steps (several checkpoints, so that a run can be interrupted between them)."""
  return [sys.executable, '-m', 'launch.train', '--config=configs/default.py:runlocal', f'--config.data_dir={data_dir}',
          '--config.max_steps=12', '--config.num_epochs=20', '--config.early_stopping_patience=100',
          f'--workdir={workdir}']


_CLI_ENV = dict(os.environ, SPECSENSE_TFDS_WORKERS='1')


def test_unknown_config_key_fails_before_anything(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'launch.train', '--config=configs/default.py:runlocal',
                         '--config.learnig_rate=0.1', f'--workdir={tmp_path}'], cwd=REPO, capture_output=True,
                        text=True)
  assert proc.returncode != 0 and 'learnig_rate' in proc.stderr
  assert not os.listdir(tmp_path)


@pytest.mark.filterwarnings('ignore:Sharding info not provided')  # the raw read of the saved checkpoint
@pytest.mark.parametrize('ema_decay', [0.0, 0.5])
def test_evaluate_report_matches_training_test_metrics(tiny_config, tmp_path, ema_decay):
  from specsense_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
  result = train.train_and_evaluate(tiny_config(max_steps=2, ema_decay=ema_decay), str(tmp_path))
  report = reports.evaluate_workdir(str(tmp_path), 'test')
  if ema_decay:  # the run's weights are the moving average, as validation and the test metrics scored them
    step = max(int(p.name) for p in (tmp_path / 'checkpoints').iterdir() if p.name.isdigit())
    saved = ocp.PyTreeCheckpointer().restore(str(tmp_path / 'checkpoints' / str(step) / 'default'))
    restored = checkpoints.restore_variables(str(tmp_path), 'latest')
    for a, b in zip(jax.tree.leaves(saved['ema']), jax.tree.leaves(restored), strict=True):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert any(np.abs(np.asarray(a) - np.asarray(b)).max() > 0
               for a, b in zip(jax.tree.leaves(saved['params']), jax.tree.leaves(restored['params'])))
  for key in ('global_accuracy', 'mean_iou', 'weighted_iou', 'mean_bf_score'):
    assert report[key] == pytest.approx(result[key])
  assert report['num_images'] == 2
  scenes = [g for name, g in report['groups'].items() if not name.startswith('SNR')]
  assert sum(g['num_images'] for g in scenes) == 2
  out = tmp_path / 'eval_test'
  assert (out / 'report.json').exists() and (out / 'confusion_matrix.png').stat().st_size > 1000
  assert '| all | 2 |' in (out / 'report.md').read_text()
  # A packaged model (as shipped ones are) evaluates the same, on the dataset it is pointed at.
  from specsense_jax.inference import trained_models  # pylint: disable=g-import-not-at-top
  packaged = trained_models.package(str(tmp_path), str(tmp_path / 'packaged'))
  again = reports.evaluate_model(packaged, 'test', output_dir=str(tmp_path / 'packaged_eval'),
                                 data_dir=tiny_config().data_dir)
  # its variables are stored as float16: a few of the 8,192 pixels may flip
  assert again['mean_iou'] == pytest.approx(report['mean_iou'], abs=5e-3) and again['num_images'] == 2


@pytest.mark.slow
def test_cli_trains_reports_and_a_sigterm_sigkill_rerun_equals_uninterrupted(tiny_data_dir, tmp_path):
  # One uninterrupted CLI run: its reports, then its parameters against a run stopped twice and rerun (one test, so
  # that the suite trains the uninterrupted run once).
  import time  # pylint: disable=g-import-not-at-top
  args = lambda workdir: _cli_args(tiny_data_dir, workdir)
  env = _CLI_ENV
  whole = tmp_path / 'whole'
  proc = subprocess.run(args(whole), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  result = json.loads((whole / 'test_metrics.json').read_text())
  assert {'global_accuracy', 'mean_iou', 'weighted_iou', 'mean_bf_score', 'confusion_matrix'} <= set(result)
  assert sum(map(sum, result['confusion_matrix'])) == 2 * 64 * 64  # the 2 test frames
  assert list((whole / 'tensorboard').glob('events.out.tfevents.*'))
  proc = subprocess.run([sys.executable, '-m', 'launch.evaluate', f'--workdir={whole}', '--split=validation'],
                        cwd=REPO, capture_output=True, text=True, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "'mean_iou'" in proc.stdout and (whole / 'eval_validation' / 'report.md').exists()

  def latest(workdir):
    # Committed checkpoints are folders named by their step (Orbax writes under a temporary name and renames).
    # Read the names only: opening a CheckpointManager while the run deletes its previous step races.
    folder = workdir / 'checkpoints'
    return max((int(p.name) for p in folder.iterdir() if p.name.isdigit()), default=None) if folder.exists() else None

  interrupted = tmp_path / 'interrupted'

  def start_and_signal(sig, ready):
    proc = subprocess.Popen(args(interrupted), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not ready() and time.time() < deadline:
      time.sleep(0.02)
    proc.send_signal(sig)
    return proc, proc.communicate(timeout=300)[0]

  # SIGTERM (a preemption notice) after the first checkpoint: saves and exits cleanly.
  proc, output = start_and_signal(signal.SIGTERM, lambda: os.path.exists(interrupted / 'history.json'))
  assert proc.returncode == 0 and 'stopped at step' in output, output[-2000:]
  stopped = latest(interrupted)
  assert 2 <= stopped < 12
  # SIGKILL after the resumed run's next checkpoint: nothing more can be saved.
  proc, output = start_and_signal(signal.SIGKILL, lambda: (latest(interrupted) or 0) > stopped)
  assert proc.returncode == -signal.SIGKILL and 'resumed from step' in output
  assert latest(interrupted) < 12
  rerun = subprocess.run(args(interrupted), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  assert 'resumed from step' in rerun.stdout and (interrupted / 'test_metrics.json').exists()
  for a, b in zip(_latest_params(whole), _latest_params(interrupted), strict=True):
    np.testing.assert_array_equal(a, b)  # same program, same batches, state restored exactly: bit for bit


@pytest.mark.parametrize('overrides,message', [
    ({'image_size': 128}, r'config.image_size is 128 but spectrum_sensing/synthetic_tiny has 64x64 images; '
                          r'set --config.image_size=64'),
    ({'model': 'deeplabv3plus_inception_v3', 'model_kwargs': {}},
     r"config.model 'deeplabv3plus_inception_v3' cannot take 64x64 images .*at least 75x75"),
    ({'ema_decay': 1.0}, r'config.ema_decay must be in \[0, 1\) \(0: no moving average\), got 1.0'),
    ({'batch_size': 12}, r'batch_size 12 must be a positive multiple of the device count 8 .*batch_size=8'),
    ({'selection_metric': 'iou'}, r"selection_metric for segmentation must be one of .*'mean_iou'"),
    ({'train_split': 'training'}, r"config.train_split 'training' is not a split of .*\['test', 'train'"),
    ({'dataset': 'spectrum_sensing/captured_128'}, r'is not built in .*tfds build tfds_builders/spectrum_sensing '
                                                   r'--config=captured_128 .*manual folder'),
    ({'init_weights': '/nonexistent/resnet18.safetensors', 'model': 'deeplabv3plus_resnet18', 'model_kwargs': {}},
     r'config.init_weights: /nonexistent/resnet18.safetensors not found'),
    ({'init_weights': '/dev/null', 'model': 'custom'}, r"model 'custom' has no ImageNet weights to load"),
    ({'model': 'classifier_resnet18', 'model_kwargs': {}, 'num_classes': 2, 'selection_metric': 'mean_f1'},
     r"class_weighting must be 'none' for frame classifiers, got 'median_frequency'"),
])
def test_bad_config_fails_before_compiling_and_writes_nothing(tiny_config, tmp_path, overrides, message):
  workdir = tmp_path / 'run'
  with pytest.raises(ValueError, match=message):
    train.train_and_evaluate(tiny_config(**overrides), str(workdir))
  assert not workdir.exists()


def test_frame_classifier_trains_and_reports(tiny_data_dir, tmp_path):
  from configs import classifier  # pylint: disable=g-import-not-at-top
  from specsense_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
  config = classifier.get_config('encoder=resnet18,runlocal')
  with config.unlocked():
    config.data_dir = tiny_data_dir
    config.max_steps = 2
  result = train.train_and_evaluate(config, str(tmp_path))
  assert set(result) >= {'subset_accuracy', 'mean_f1', 'class_f1'} and set(result['class_f1']) == {'NR', 'LTE'}
  history = json.loads((tmp_path / 'history.json').read_text())
  assert 'val_subset_accuracy' in history['epochs'][-1]
  report = reports.evaluate_workdir(str(tmp_path), 'test')
  assert report['task'] == 'classification' and report['num_images'] == 2
  assert report['subset_accuracy'] == pytest.approx(result['subset_accuracy'])
  markdown = (tmp_path / 'eval_test' / 'report.md').read_text()
  assert '| class | accuracy | precision | recall | F1 |' in markdown and '| NR |' in markdown


def test_early_stopping_after_patience_evaluations(tiny_config, tmp_path, monkeypatch):
  # Validation that never improves on the first evaluation: patience 2 stops after the third epoch.
  real_evaluate = train.evaluate.evaluate_batches

  def flat(*args, **kwargs):
    result = real_evaluate(*args, **kwargs)
    return dataclasses.replace(result, metrics={**result.metrics, 'loss': 1.0, 'mean_iou': 0.5})
  monkeypatch.setattr(train.evaluate, 'evaluate_batches', flat)
  config = tiny_config(num_epochs=20, early_stopping_patience=2)
  train.train_and_evaluate(config, str(tmp_path))
  history = json.loads((tmp_path / 'history.json').read_text())
  assert [e['step'] for e in history['epochs']] == [2, 4, 6]
  assert history['evals_without_improvement'] == 2 and history['best_step'] == 2
  assert _steps_on_disk(tmp_path) == [2, 6]  # the best (the first of equals) and the latest, in one manager
  assert (tmp_path / 'test_metrics.json').exists()


def test_non_finite_loss_stops_naming_the_step_and_keeps_last_checkpoint(tiny_config, tmp_path, monkeypatch):
  real_make_steps = train.steps.make_steps

  def make_steps_failing_at_step_3(*args, **kwargs):
    jitted = real_make_steps(*args, **kwargs)

    def train_step(state, batch):
      state, metrics = jitted.train_step(state, batch)
      if int(state.step) == 3:
        metrics = {**metrics, 'loss': jax.numpy.float32(np.nan)}
      return state, metrics
    return jitted._replace(train_step=train_step)

  monkeypatch.setattr(train.steps, 'make_steps', make_steps_failing_at_step_3)
  closed, real_close = [], checkpoints.Checkpoints.close
  monkeypatch.setattr(checkpoints.Checkpoints, 'close', lambda self: (closed.append(self.directory), real_close(self)))
  handler = lambda signum, frame: None
  previous = signal.signal(signal.SIGTERM, handler)
  try:
    with pytest.raises(train.NonFiniteLossError, match='loss is nan at step 3; the last good checkpoint is in'):
      train.train_and_evaluate(tiny_config(num_epochs=5), str(tmp_path))
    assert signal.getsignal(signal.SIGTERM) is handler  # the run's preemption handler is gone again
    assert closed == [str(tmp_path / 'checkpoints')]  # and its checkpoint manager closed
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert _steps_on_disk(tmp_path) == [2]
  assert not (tmp_path / 'test_metrics.json').exists()


def test_half_precision_trains_with_float32_parameters(tiny_config, tmp_path):
  result = train.train_and_evaluate(tiny_config(half_precision=True, max_steps=2), str(tmp_path))
  assert np.sum(result['confusion_matrix']) == 2 * 64 * 64  # each pixel of the 2 test frames once, padding none
  assert all(leaf.dtype == np.float32 for leaf in _latest_params(tmp_path))


@pytest.mark.parametrize('mode,values,best', [('min', (0.5, 0.3, 0.4, None, 0.6), 2),
                                             ('max', (0.5, 0.7, 0.6, None, 0.4), 2),
                                             ('max', (0.5, 0.5, 0.5, None, 0.5), 1)])  # ties: the earlier step
def test_one_manager_keeps_the_latest_and_the_best_and_restores_them_without_an_optimizer(tmp_path, mode, values,
                                                                                          best):
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import optax  # pylint: disable=g-import-not-at-top
  from specsense_jax.models import build_model  # pylint: disable=g-import-not-at-top
  from specsense_jax.training import steps  # pylint: disable=g-import-not-at-top
  model = build_model('custom', 3, widths=(4, 8))
  tx = optax.sgd(0.1, momentum=0.9)  # an optimizer state that restore_variables must not need
  mesh = steps.data_mesh()  # saved from 8 devices, restored on one
  state = steps.make_steps(model, tx, mesh, [1.0, 1.0, 1.0]).place_state(
      steps.create_train_state(model, tx, jax.random.key(0), (16, 16, 3)))
  (tmp_path / 'config.json').write_text('{}')
  saved = {}
  with checkpoints.Checkpoints(str(tmp_path), mode) as manager:
    for step, value in enumerate(values, 1):  # None: a preemption save, not evaluated
      state = state.replace(step=jnp.asarray(step), params=jax.tree.map(lambda p: p + 1.0, state.params))
      saved[step] = jax.device_get(state.variables)
      manager.save(step, state, value)
      manager.wait()
    assert (manager.latest_step(), manager.best_step()) == (len(values), best)
  assert _steps_on_disk(tmp_path) == [best, len(values)]  # the older best survives the later, worse ones
  for which, step in (('best', best), ('latest', len(values))):
    restored = checkpoints.restore_variables(str(tmp_path), which)
    assert set(restored) == {'params', 'batch_stats'}
    assert {leaf.sharding for leaf in jax.tree.leaves(restored)} == {
        jax.sharding.SingleDeviceSharding(jax.local_devices()[0])}
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(saved[step]), strict=True):
      np.testing.assert_array_equal(a, b)


def test_restore_needs_a_checkpoint_and_the_workdir_config(tmp_path):
  with pytest.raises(ValueError, match=r'has no config.json: not a training workdir'):
    checkpoints.load_config(str(tmp_path))
  with pytest.raises(ValueError, match=r'no checkpoint in .*checkpoints: train first'):
    checkpoints.restore_variables(str(tmp_path))


def test_resume_skips_consumed_batches_in_the_pipeline(tiny_data_dir):
  from specsense_jax.data import pipeline  # pylint: disable=g-import-not-at-top
  kwargs = dict(global_batch_size=8, train=True, data_dir=tiny_data_dir, seed=3, augment=('time_roll',))
  whole = list(tfds.as_numpy(pipeline.input_pipeline('spectrum_sensing/synthetic_tiny', 'train', **kwargs).take(4)))
  resumed = next(iter(tfds.as_numpy(pipeline.input_pipeline('spectrum_sensing/synthetic_tiny', 'train',
                                                             skip_batches=3, **kwargs))))
  for key in ('image', 'mask', 'signals'):  # 16 frames in batches of 8: batch 3 is in the second epoch
    np.testing.assert_array_equal(resumed[key], whole[3][key])
  assert not np.array_equal(whole[3]['image'], whole[0]['image'])


def test_train_mix_trains_on_both_and_refuses_foreign_classes(tiny_config, realistic_tiny_data_dir, tmp_path):
  config = tiny_config(dataset='spectrum_sensing/realistic_tiny', train_mix='spectrum_sensing/synthetic_tiny:0.3',
                       max_steps=2)
  train.train_and_evaluate(config, str(tmp_path / 'mixed'))
  recorded = json.loads((tmp_path / 'mixed' / 'config.json').read_text())
  assert recorded['train_mix'] == 'spectrum_sensing/synthetic_tiny:0.3' and recorded['num_classes'] == 4
  # the three-class parity set cannot take the realistic set's Unknown pixels
  with pytest.raises(ValueError, match=r"config.train_mix: spectrum_sensing/realistic_tiny has classes \['Unknown'\]"):
    train.check_config(tiny_config(train_mix='spectrum_sensing/realistic_tiny:0.3'))


def test_median_frequency_mix_weighs_the_mixture_training_draws(tiny_config, realistic_tiny_data_dir, tmp_path):
  def masks(name):  # the train split's masks, counted independently of the pipeline (NO_LABEL pixels skipped)
    ds = tfds.load(f'spectrum_sensing/{name}', split='train', data_dir=realistic_tiny_data_dir)
    return [m[..., 0] if m.ndim == 3 else m for m in (e['mask'] for e in tfds.as_numpy(ds))]

  def per_example(ms):
    pixels = np.zeros(4)
    image_pixels = np.zeros(4)
    for m in ms:
      labelled = m[m != constants.NO_LABEL]
      counts = np.bincount(labelled, minlength=4)[:4]
      pixels += counts
      image_pixels += np.where(counts > 0, labelled.size, 0)
    return pixels / len(ms), image_pixels / len(ms)

  realistic, synthetic = per_example(masks('realistic_tiny')), per_example(masks('synthetic_tiny'))
  # synthetic_tiny's Noise/NR/LTE ids are realistic_tiny's: no mapping; drawn 7 : 3
  pixels = 0.7 * realistic[0] + 0.3 * synthetic[0]
  image_pixels = 0.7 * realistic[1] + 0.3 * synthetic[1]
  freq = pixels / image_pixels
  expected = np.median(freq) / freq
  kwargs = dict(dataset='spectrum_sensing/realistic_tiny', train_mix='spectrum_sensing/synthetic_tiny:0.3')
  for name in 'ab':
    (tmp_path / name).mkdir()
  weighted = lambda config, name: train._class_weights(train.check_config(config)[3], str(tmp_path / name))
  mixed = weighted(tiny_config(class_weighting='median_frequency_mix', **kwargs), 'a')
  np.testing.assert_allclose(mixed, expected / expected.sum(), rtol=1e-5)
  alone = weighted(tiny_config(**kwargs), 'b')  # median_frequency: the dataset's own
  freq = realistic[0] / realistic[1]
  np.testing.assert_allclose(alone, np.median(freq) / freq / np.sum(np.median(freq) / freq), rtol=1e-5)
  assert not np.allclose(mixed, alone, rtol=1e-3)
  assert json.loads((tmp_path / 'a' / 'class_weights.json').read_text()) == pytest.approx(mixed.tolist())
  with pytest.raises(ValueError, match=r"config.class_weighting must be one of \('none', 'median_frequency', "):
    train.check_config(tiny_config(class_weighting='median'))
