"""One lent-GPU session: DeepLabv3+ at 256x256 by the realistic recipe, and its train-step benchmark, in one run.

  python scripts/device/train_256.py --out=$OUT [--models=resnet50,mobilenetv2] [--bench] [--budget_s=540]
  python scripts/device/train_256.py --out=/tmp/smoke --smoke --bench --max_epochs=1  # the whole path, CPU, 2 min

The GPU machines lent to this project have JAX, Flax and Optax but no TensorFlow, so `launch.train` cannot read
TFDS there. This script trains what `launch.train --config=configs/realistic.py:encoder=E,size=256
--config.half_precision=True --config.batch_size=64` trains, from the same frames: `gen_frames.py` makes
realistic_256 and synthetic_256 (the builder's own examples) in a CPU subprocess while each model's train and eval
steps compile (their class weights, realistic_256 train's median-frequency weights, come from
`class_weights.json` and are checked against the frames made); the frames go to the GPU once, and each batch is
gathered, `grey_rescale`d and coloured there (`data.device_batches`): 70 % realistic_256 train, 30 %
synthetic_256 train, SGD momentum 0.9 with L2 1e-4, cosine learning rate with half an epoch of warm-up,
bfloat16, best validation mean IoU. What differs from launch.train: the epochs are as many as the time left
allows (at most 30; the learning rate is set from the host each step, so the schedule is sized after the
compiled step is timed), and the draws of the mix and the augmentation are JAX's.

Benchmark rows come from the compiled train step itself (images/s, TFLOP/s by XLA's cost analysis, share of the
GPU's dense bf16 peak); --bench adds the same step with the CPU-tuned layers forced (`layers.cpu_kernels`).

Writes to --out (at most 8 files of 16 MiB come back from a lent machine): results.json (benchmark rows, per-epoch
history, validation and test metrics of both test splits, timings) and each model's packaged float16 variables
in 15 MiB parts; `assemble.py` makes packaged model folders of them.
"""

import argparse
import json
import os
import subprocess
import sys
import time

T0 = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)  # the package, uninstalled on a lent machine


def parse(argv):
  parser = argparse.ArgumentParser()
  parser.add_argument('--out', required=True)
  parser.add_argument('--models', default='resnet50,mobilenetv2')
  parser.add_argument('--bench', action='store_true', help='also time the train step with the CPU-tuned layers forced')
  parser.add_argument('--budget_s', type=float, default=540.0)
  parser.add_argument('--bench_until_s', type=float, default=330.0, help='no benchmark row once less is left')
  parser.add_argument('--batch', type=int, default=None, help='default 64; 2 with --smoke (64 at 256x256 needs '
                      'over 26 GB of host memory on the CPU)')
  parser.add_argument('--learning_rate', type=float, default=0.02)
  parser.add_argument('--max_epochs', type=int, default=30)
  parser.add_argument('--gen_dir', default='/tmp/gen_frames')
  parser.add_argument('--smoke', action='store_true', help='40 frames, tiny batches, no time planning (CPU)')
  args = parser.parse_args(argv)
  if args.batch is None:
    args.batch = 2 if args.smoke else 64
  return args


ARGS = parse(sys.argv[1:])
os.makedirs(ARGS.out, exist_ok=True)
RESULTS = {'args': vars(ARGS)}
_gen_env = dict(os.environ, JAX_PLATFORMS='cpu', GEN_WORKERS=str(max(1, (os.cpu_count() or 2) - 2)),
                PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
GEN = subprocess.Popen([sys.executable, os.path.join(HERE, 'gen_frames.py'), 'realistic_256,synthetic_256',
                        ARGS.gen_dir] + (['--frames', '40'] if ARGS.smoke else []), env=_gen_env,
                       stdout=open('/tmp/gen_frames.log', 'w'), stderr=subprocess.STDOUT)

import flax.serialization  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import jax.numpy as jnp
import numpy as np
import optax

from specsense_jax.benchmarks import models as model_bench
from specsense_jax.data import device_batches
from specsense_jax.inference import trained_models
from specsense_jax.models import build_model
from specsense_jax.training import evaluate as evaluation
from specsense_jax.training import optim
from specsense_jax.training import steps
from specsense_jax.training import tasks

NUM_CLASSES = 4  # realistic_256: Noise, NR, LTE, Unknown
RETURNED_BYTES = 62 * 2 ** 20  # of the 64 MiB a lent machine returns, leaving room for results.json
PARITY_SHARE = 0.3


def left(budget=None):
  return (ARGS.budget_s if budget is None else budget) - (time.time() - T0)


def log(*a):
  print(f'[{time.time() - T0:6.1f}s]', *a, flush=True)


def save():
  with open(os.path.join(ARGS.out, 'results.json'), 'w') as f:
    json.dump(RESULTS, f, indent=1, default=lambda x: x.tolist() if hasattr(x, 'tolist') else str(x))


def error(where):
  import traceback  # pylint: disable=g-import-not-at-top
  RESULTS.setdefault('errors', []).append(f'{where}: {traceback.format_exc()[-3000:]}')
  log('ERROR', where, traceback.format_exc()[-1500:])
  save()


PEAK_BF16_TFLOPS = {'H200': 989.0, 'H100': 989.0}  # dense bf16, the vendor's datasheets (SXM parts)


def _dummy_batch(batch):
  return {'image': jnp.zeros((batch, 256, 256, 3), jnp.float32), 'mask': jnp.zeros((batch, 256, 256), jnp.int32),
          'signals': jnp.zeros((batch, 3), jnp.float32), 'valid': jnp.ones((batch,), jnp.float32)}


def _timed_steps(step_fn, state, batch, count=5):
  state, _ = step_fn(state, batch)  # warm-up
  jax.block_until_ready(state)
  start = time.time()
  for _ in range(count):
    state, _ = step_fn(state, batch)
  jax.block_until_ready(state)
  return (time.time() - start) / count


def _row(name, kernels, compiled, step_s, compile_s):
  row = {'model': name, 'kernels': kernels, 'size': 256, 'batch': ARGS.batch, 'dtype': 'bfloat16',
         'compile_s': compile_s, 'step_s': step_s, 'train_img_s': ARGS.batch / step_s}
  flops = model_bench.compiled_flops(compiled)
  if flops:
    row['train_gflop_per_img'] = flops / ARGS.batch / 1e9
    row['train_tflops'] = flops / step_s / 1e12
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in str(jax.devices()[0].device_kind)), None)
    if peak:
      row['share_of_peak'] = row['train_tflops'] / peak
  return row


class Prepared:
  """One encoder's model, optimizer and compiled steps, made before the frames exist (compilation overlaps
  `gen_frames`); its benchmark rows are timed on the compiled train step itself."""

  def __init__(self, encoder, weights):
    self.name = f'deeplabv3plus_{encoder}'
    self.model = build_model(self.name, NUM_CLASSES, dtype=jnp.bfloat16, output_stride=16)
    # optim.sgdm with the learning rate injected: set from the host per step, once the epochs are planned
    self.tx = optax.chain(optax.add_decayed_weights(1e-4),
                          optax.inject_hyperparams(optax.sgd)(learning_rate=0.0, momentum=0.9))
    self.jitted = steps.make_steps(self.model, self.tx, steps.data_mesh(jax.devices()[:1]), weights,
                                   tasks.SEGMENTATION)
    self.host_state = jax.device_get(steps.create_train_state(self.model, self.tx, jax.random.key(0),
                                                              (256, 256, 3)))
    dummy = _dummy_batch(ARGS.batch)
    start = time.time()
    self.step_fn = self.jitted.train_step.lower(self.initial_state(), dummy).compile()
    compile_s = time.time() - start
    self.eval_fn = self.jitted.eval_step.lower(self.initial_state().variables, dummy).compile()
    self.row = _row(self.name, 'native', self.step_fn, _timed_steps(self.step_fn, self.initial_state(), dummy),
                    compile_s)
    RESULTS.setdefault('bench', []).append(self.row)
    log('bench', json.dumps(self.row))
    save()

  def initial_state(self):
    return with_learning_rate(self.jitted.place_state(self.host_state), 0.0)  # fresh arrays: steps donate them


def bench_cpu_kernels(prepared, weights):
  """The same train step with the layers tuned for XLA:CPU (`layers.cpu_kernels`) forced: must not be faster."""
  from specsense_jax.models import layers  # pylint: disable=g-import-not-at-top
  os.environ[layers.KERNELS_ENV] = 'cpu'
  try:
    model = build_model(prepared.name, NUM_CLASSES, dtype=jnp.bfloat16, output_stride=16)
    jitted = steps.make_steps(model, prepared.tx, steps.data_mesh(jax.devices()[:1]), weights, tasks.SEGMENTATION)
    state = with_learning_rate(jitted.place_state(prepared.host_state), 0.0)  # the same parameters
    dummy = _dummy_batch(ARGS.batch)
    start = time.time()
    compiled = jitted.train_step.lower(state, dummy).compile()
    row = _row(prepared.name, 'cpu', compiled, _timed_steps(compiled, state, dummy), time.time() - start)
  finally:
    os.environ.pop(layers.KERNELS_ENV, None)
  row['vs_native'] = row['train_img_s'] / prepared.row['train_img_s']
  RESULTS['bench'].append(row)
  log('bench', json.dumps(row))
  save()


def load_frames():
  while GEN.poll() is None:
    time.sleep(1)
  text = open('/tmp/gen_frames.log').read()
  log('gen_frames rc', GEN.returncode, text[-600:])
  if GEN.returncode:
    RESULTS['gen_error'] = text[-3000:]
    save()
    sys.exit(1)

  def host(name, split):
    return [np.load(os.path.join(ARGS.gen_dir, f'{name}_{split}_{w}.npy')) for w in ('grey', 'mask', 'signals')]
  return ({s: host('realistic_256', s) for s in ('train', 'validation', 'test')},
          {s: host('synthetic_256', s) for s in ('train', 'test')})


def evaluate(eval_step, variables, frames, batch):
  """The trainer's evaluation loop over `frames` in padded batches (rows past the end have valid 0)."""
  count = len(frames)
  batches = (device_batches.batch(frames, np.minimum(index, count - 1), (index < count).astype(np.float32))
             for index in (np.arange(start, start + batch) for start in range(0, count, batch)))
  result = evaluation.evaluate_batches(eval_step, variables, batches, tasks.SEGMENTATION, NUM_CLASSES).metrics
  return {k: (v.tolist() if hasattr(v, 'tolist') else v) for k, v in result.items()}


def brief(m):
  return {k: m[k] for k in ('global_accuracy', 'mean_iou', 'class_iou') if k in m}


def with_learning_rate(state, lr):
  decay, sgd = state.opt_state
  hyper = dict(sgd.hyperparams, learning_rate=jnp.asarray(lr, jnp.float32))
  return state.replace(opt_state=(decay, sgd._replace(hyperparams=hyper)))


def train(prepared, real, parity, budget):
  """Trains `prepared`'s model by the recipe within `budget` (absolute seconds since start)."""
  name = prepared.name
  rec = RESULTS.setdefault('train', {})[name] = {'batch': ARGS.batch, 'learning_rate': ARGS.learning_rate,
                                                 'step_s': prepared.row['step_s']}
  state = prepared.initial_state()
  frames, _ = device_batches.concatenate([device_batches.DeviceFrames.from_host(*real['train']),
                                          device_batches.DeviceFrames.from_host(*parity['train'])])
  validation = device_batches.DeviceFrames.from_host(*real['validation'])
  sizes = [len(real['train'][0]), len(parity['train'][0])]
  per_epoch = max(1, sizes[0] // ARGS.batch)
  rng, key, ones = np.random.default_rng(0), jax.random.key(1), jnp.ones((ARGS.batch,), jnp.float32)
  jax.block_until_ready(device_batches.batch(frames, np.arange(ARGS.batch), ones, key))  # compiled first
  start = time.time()
  for i in range(20):
    example = device_batches.batch(frames, rng.integers(0, len(frames), ARGS.batch), ones,
                                   jax.random.fold_in(key, 2 ** 31 + i))
  jax.block_until_ready(example)
  rec['device_pipeline_img_s'] = 20 * ARGS.batch / (time.time() - start)
  epoch_s = per_epoch * rec['step_s'] * 1.1 + 2.0  # a validation pass every few epochs
  epochs = ARGS.max_epochs if ARGS.smoke else int(np.clip((left(budget) - 25.0) / epoch_s, 1, ARGS.max_epochs))
  total = epochs * per_epoch
  rec.update(epochs=epochs, steps=total, steps_per_epoch=per_epoch)
  log(name, json.dumps({k: rec[k] for k in ('step_s', 'device_pipeline_img_s', 'epochs')}))
  schedule = optim.learning_rate_schedule('cosine', ARGS.learning_rate, per_epoch, total,
                                          warmup_steps=int(0.5 * per_epoch))
  every = max(1, epochs // 6)
  best, best_variables, history, step = -1.0, None, [], 0
  for epoch in range(epochs):
    index = device_batches.mixed_indices(rng, sizes, [1 - PARITY_SHARE, PARITY_SHARE], per_epoch * ARGS.batch)
    for s in range(per_epoch):
      b = device_batches.batch(frames, index[s * ARGS.batch:(s + 1) * ARGS.batch], ones, jax.random.fold_in(key, step))
      state, metrics = prepared.step_fn(with_learning_rate(state, schedule(step)), b)
      step += 1
    entry = {'epoch': epoch + 1, 'loss': float(metrics['loss']), 'elapsed_s': time.time() - T0}
    if (epoch + 1) % every == 0 or epoch + 1 == epochs:
      m = evaluate(prepared.eval_fn, state.variables, validation, ARGS.batch)
      entry['validation'] = brief(m)
      if m['mean_iou'] > best:
        best, best_variables, entry['best'] = m['mean_iou'], jax.device_get(state.variables), True
    history.append(entry)
    rec['history'] = history
    log(name, json.dumps(entry))
    save()
  rec['best_validation_mean_iou'] = best
  if best_variables is None:  # no validation gave a number (NaN): keep the last weights
    best_variables = jax.device_get(state.variables)
  variables = prepared.jitted.place_state(best_variables)
  for label, dset in (('realistic_256_test', real['test']), ('synthetic_256_test', parity['test'])):
    rec[label] = evaluate(prepared.eval_fn, variables, device_batches.DeviceFrames.from_host(*dset), ARGS.batch)
    log(name, label, json.dumps(brief(rec[label])))
  blob = flax.serialization.to_bytes(trained_models.to_storage(best_variables))
  written = sum(os.path.getsize(os.path.join(ARGS.out, f)) for f in os.listdir(ARGS.out) if '.msgpack.part' in f)
  if written + len(blob) > RETURNED_BYTES:  # what a lent machine sends back: 64 MiB in all, results.json too
    rec['variables_not_written'] = f'{len(blob)} bytes would exceed {RETURNED_BYTES} with {written} written'
    log(name, rec['variables_not_written'])
    save()
    return
  part = 15 * 2 ** 20
  for i in range(0, len(blob), part):
    with open(os.path.join(ARGS.out, f'{name}.msgpack.part{i // part}'), 'wb') as f:
      f.write(blob[i:i + part])
  rec['variables_bytes'] = len(blob)
  save()


def main():
  RESULTS.update(devices=[str(d) for d in jax.devices()], device_kind=jax.devices()[0].device_kind,
                 jax=jax.__version__)
  log('devices', RESULTS['devices'], 'jax', jax.__version__)
  save()
  with open(os.path.join(HERE, 'class_weights.json')) as f:  # of realistic_256 train: compile before the frames
    weights = np.asarray(json.load(f)['realistic_256'], np.float32)
  prepared = []
  for encoder in ARGS.models.split(','):
    try:
      prepared.append(Prepared(encoder, weights))
      if ARGS.bench and left() > ARGS.bench_until_s:
        bench_cpu_kernels(prepared[-1], weights)
    except Exception:  # pylint: disable=broad-except  keep what the other model gives
      error(f'prepare {encoder}')
  real, parity = load_frames()
  measured = optim.median_frequency_weights(*optim.class_pixel_statistics([real['train'][1]], NUM_CLASSES))
  RESULTS['class_weights'] = weights.tolist()
  RESULTS['class_weights_of_these_frames'] = measured.tolist()  # equal unless the frames differ from the build
  if not np.allclose(measured, weights, rtol=1e-6):
    RESULTS['class_weights_differ'] = True  # these frames are not the TFDS build's: trained on, but flagged
    log('WARNING: the frames made here give other class weights', measured, 'than class_weights.json', weights)
  for i, model in enumerate(prepared):
    share = 0.5 if i < len(prepared) - 1 else 1.0  # the first may not take the time of the others
    budget = (time.time() - T0) + left() * share
    if left() < 60 and not ARGS.smoke:
      log('no time left for', model.name)
      continue
    try:
      train(model, real, parity, budget)
    except Exception:  # pylint: disable=broad-except  keep what the other model gives
      error(f'train {model.name}')
  log('done')
  save()


if __name__ == '__main__':
  main()
