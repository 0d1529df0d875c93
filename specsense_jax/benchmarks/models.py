"""Model benchmark: images/s of the trainer's own train step and eval step per model, and FLOP/s achieved.

What is timed is what `launch.train` runs: `steps.make_steps` over a mesh of the devices (as many as divide the
batch), with class-weighted cross-entropy, SGD with momentum and L2 (`optim.sgdm`), the training state donated
to each step; the eval step is the validation/`launch.evaluate` step (predictions and loss in one pass). Only
figures measured in the run are reported.

With `--peer`, segmentation_models_pytorch's DeepLabV3Plus (`peer_torch.py`, in a subprocess) does the same work
for ResNet-18 at 128x128, batch 16, and ResNet-50 at 256x256, batch 8, between our two decoders: smp's one
separable 3x3 decoder conv (`decoder_convs=1`, like for like) and our default two; each row gives its ratio to
the peer measured in the same run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from specsense_jax.benchmarks import harness
from specsense_jax.models import build_model
from specsense_jax.training import optim
from specsense_jax.training import steps
from specsense_jax.training import tasks

# (model, size, batch, model kwargs); the first is the default model (configs/default.py), the --quick case
CASES = (('custom', 128, 16, {'stem_stride': 2}), ('custom', 128, 16, {}), ('deeplabv3plus_resnet18', 128, 16, {}),
         ('deeplabv3plus_resnet50', 256, 8, {}), ('deeplabv3plus_mobilenetv2', 256, 8, {}))
CLASS_WEIGHTS = (0.2, 0.35, 0.45)  # median-frequency-like: not all equal, so the weighted loss is what runs


def compiled_flops(compiled) -> float | None:
  """FLOPs of a compiled computation by XLA's cost analysis, or None where the backend gives none."""
  try:
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return float(analysis.get('flops', 0.0)) or None
  except Exception:  # cost analysis is best effort on some backends
    return None


def _batch(size: int, batch: int, num_classes: int, sharding) -> dict[str, jax.Array]:
  rng = np.random.default_rng(0)
  host = {'image': rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32),
          'mask': rng.integers(0, num_classes, (batch, size, size)).astype(np.int32),
          'signals': (rng.uniform(size=(batch, 3)) > 0.5).astype(np.float32),
          'valid': np.ones(batch, np.float32)}
  return jax.device_put(host, sharding)


def measure(name: str, size: int, batch: int, repeats: int, dtype=jnp.float32, **model_kwargs) -> dict:
  """images/s of the trainer's train step and eval step for `name` at size x size, global batch `batch`.

  Args:
    name: a registered model.
    size: image height and width.
    batch: global batch size; the mesh takes the largest number of devices that divides it.
    repeats: timed calls of each step (after one warm-up call).
    dtype: compute dtype of the model (parameters stay float32).
    **model_kwargs: passed to `build_model`.

  Returns:
    A row: model, size, batch, devices, dtype, train_img_s, infer_img_s (the eval step) and, where the
    backend reports them, GFLOP per training image and TFLOP/s of both steps.
  """
  task = tasks.task_for_model(name)
  num_classes = len(CLASS_WEIGHTS) if task is tasks.SEGMENTATION else 2
  model = build_model(name, num_classes, dtype=dtype, **model_kwargs)
  devices = jax.devices()[:math.gcd(batch, jax.device_count())]
  mesh = steps.data_mesh(devices)
  data = _batch(size, batch, num_classes, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data')))
  tx = optim.sgdm(optim.learning_rate_schedule('piecewise', 0.01, 100, 1000), momentum=0.9, l2=1e-4)
  weights = CLASS_WEIGHTS if task is tasks.SEGMENTATION else (1.0,) * num_classes
  jitted = steps.make_steps(model, tx, mesh, weights, task)
  state = [jitted.place_state(steps.create_train_state(model, tx, jax.random.key(0), (size, size, 3)))]

  train_compiled = jitted.train_step.lower(state[0], data).compile()  # timed as compiled: one compilation

  def run_train():
    state[0], metrics = train_compiled(state[0], data)  # donates the previous state, as training does
    metrics['loss'].block_until_ready()

  train = harness.time_call(run_train, repeats=repeats, warmup=1)
  variables = state[0].variables
  eval_compiled = jitted.eval_step.lower(variables, data).compile()
  inference = harness.time_call(lambda: jax.block_until_ready(eval_compiled(variables, data)), repeats=repeats,
                                warmup=1)
  row = {'model': name + ''.join(f' {k}={v}' for k, v in model_kwargs.items()), 'size': size, 'batch': batch,
         'devices': len(devices), 'dtype': jnp.dtype(dtype).name, 'train_img_s': batch / train.median_s,
         'infer_img_s': batch / inference.median_s}
  train_flops, infer_flops = compiled_flops(train_compiled), compiled_flops(eval_compiled)
  if train_flops:
    row['train_gflop_per_img'] = train_flops / batch / 1e9
    row['train_tflops'] = train_flops / train.median_s / 1e12
  if infer_flops:
    row['infer_tflops'] = infer_flops / inference.median_s / 1e12
  return row


PEER_CASES = (('resnet18', 128, 16), ('resnet50', 256, 8))
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'peer_torch.py')


def measure_peer(encoder: str, size: int, batch: int, repeats: int, python: str = '') -> dict:
  """images/s of smp's DeepLabV3Plus (`peer_torch.measure`) in a subprocess of `python` (default: this one);
  ValueError saying how to install it when that interpreter lacks torch or smp."""
  python = python or sys.executable
  probe = subprocess.run([python, '-c', 'import torch, segmentation_models_pytorch'], capture_output=True, text=True)
  if probe.returncode:
    raise ValueError(f'--peer needs torch and segmentation-models-pytorch in {python} (pip install -e ".[bench]", '
                     f'or pass --peer_python=INTERPRETER): {probe.stderr.strip().splitlines()[-1:]}')
  args = {'encoder': encoder, 'size': size, 'batch': batch, 'repeats': repeats,
          'class_weights': list(CLASS_WEIGHTS)}
  done = subprocess.run([python, PEER_SCRIPT, json.dumps(args)], capture_output=True, text=True)
  if done.returncode:
    raise RuntimeError(f'the peer benchmark failed ({python} {PEER_SCRIPT}):\n{done.stderr[-2000:]}')
  return json.loads(done.stdout.strip().splitlines()[-1])


def peer_rows(options: harness.Options) -> list[dict]:
  """Ours (smp's one decoder conv, then our default two) and the peer per PEER_CASES, each with its ratio to
  the peer; --quick: ResNet-18 at 64x64, batch 2."""
  rows = []
  for encoder, size, batch in (PEER_CASES if not options.quick else (('resnet18', 64, 2),)):
    repeats = max(1, options.repeats)
    like = measure(f'deeplabv3plus_{encoder}', size, batch, repeats, decoder_convs=1)
    peer = measure_peer(encoder, size, batch, repeats, options.peer_python)
    default = measure(f'deeplabv3plus_{encoder}', size, batch, repeats)
    peer_row = {'model': f'smp DeepLabV3Plus {encoder} (smp {peer["smp"]}, torch {peer["torch"]}, '
                         f'{peer["threads"]} threads)', 'size': size, 'batch': batch,
                'train_img_s': peer['train_img_s'], 'infer_img_s': peer['infer_img_s']}
    for row in (like, default):
      row['train_vs_peer'] = row['train_img_s'] / peer['train_img_s']
      row['infer_vs_peer'] = row['infer_img_s'] / peer['infer_img_s']
    rows += [like, peer_row, default]
  return rows


def run(options: harness.Options) -> list[dict]:
  """One row per model of CASES (the default model only with --quick), plus bf16 ResNet-50 on accelerators;
  with --peer, the same-run comparison with segmentation_models_pytorch instead (`peer_rows`)."""
  if options.peer:
    return peer_rows(options)
  cases = CASES[:1] if options.quick else CASES
  rows = [measure(name, size, batch if not options.quick else 2, max(1, options.repeats), **kwargs)
          for name, size, batch, kwargs in cases]
  if jax.default_backend() != 'cpu':  # accelerators: the bf16 DeepLabv3+ ResNet-50 figure too
    rows.append(measure('deeplabv3plus_resnet50', 256, 64, max(1, options.repeats), jnp.bfloat16))
  return rows
