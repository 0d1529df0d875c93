"""Model benchmark: train-step and inference images/s per model at its resolution, and FLOP/s achieved.

Reference points measured on this 2-core CPU with segmentation_models_pytorch's DeepLabV3Plus (same encoder,
batch and size): resnet50 at 256x256, batch 8: 1.73 images/s training, 10.8 inference; resnet18 at 128x128,
batch 16: 26.9 training, 80.0 inference.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from specsense_jax.benchmarks import harness
from specsense_jax.models import build_model

SMP_REFERENCE = {('deeplabv3plus_resnet50', 256, 8): (1.73, 10.8), ('deeplabv3plus_resnet18', 128, 16): (26.9, 80.0)}
# (model, size, batch, model kwargs); the first is the default model (configs/default.py), the --quick case
CASES = (('custom', 128, 16, {'stem_stride': 2}), ('custom', 128, 16, {}), ('deeplabv3plus_resnet18', 128, 16, {}),
         ('deeplabv3plus_resnet50', 256, 8, {}), ('deeplabv3plus_mobilenetv2', 256, 8, {}))


def _flops(compiled) -> float | None:
  try:
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return float(analysis.get('flops', 0.0)) or None
  except Exception:  # cost analysis is best effort on some backends
    return None


def measure(name: str, size: int, batch: int, repeats: int, dtype=jnp.float32, **model_kwargs) -> dict:
  """images/s of one SGD-momentum train step and of inference for `name` at size x size, batch `batch`."""
  model = build_model(name, 3, dtype=dtype, **model_kwargs)
  rng = np.random.default_rng(0)
  images = jnp.asarray(rng.uniform(0, 1, (batch, size, size, 3)), jnp.float32)
  labels = jnp.asarray(rng.integers(0, 3, (batch, size, size)))
  variables = jax.jit(model.init)(jax.random.key(0), images)
  tx = optax.sgd(0.01, momentum=0.9)
  opt_state = tx.init(variables['params'])

  def loss_fn(params, batch_stats):
    logits, updates = model.apply({'params': params, 'batch_stats': batch_stats}, images, train=True,
                                  mutable=['batch_stats'])
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(), updates['batch_stats']

  @functools.partial(jax.jit, donate_argnums=(0, 1, 2))
  def train_step(params, batch_stats, opt_state):
    (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch_stats)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), batch_stats, opt_state, loss

  infer = jax.jit(lambda v, x: model.apply(v, x, train=False))
  state = [jax.tree.map(jnp.copy, variables['params']), jax.tree.map(jnp.copy, variables['batch_stats']),
           opt_state]  # donated by train_step; `variables` stays for inference

  def run_train():
    out = train_step(*state)
    out[3].block_until_ready()
    state[:] = out[:3]

  train_compiled = train_step.lower(*state).compile()
  infer_compiled = infer.lower(variables, images).compile()
  train = harness.time_call(run_train, repeats=repeats, warmup=1)
  inference = harness.time_call(lambda: infer(variables, images).block_until_ready(), repeats=repeats,
                                     warmup=1)
  row = {'model': name + ''.join(f' {k}={v}' for k, v in model_kwargs.items()), 'size': size, 'batch': batch,
         'dtype': jnp.dtype(dtype).name, 'train_img_s': batch / train.median_s, 'infer_img_s': batch / inference.median_s}
  train_flops, infer_flops = _flops(train_compiled), _flops(infer_compiled)
  if train_flops:
    row['train_gflop_per_img'] = train_flops / batch / 1e9
    row['train_tflops'] = train_flops / train.median_s / 1e12
  if infer_flops:
    row['infer_tflops'] = infer_flops / inference.median_s / 1e12
  comparable = not model_kwargs or model_kwargs == {'decoder_convs': 1}
  reference = SMP_REFERENCE.get((name, size, batch)) if comparable else None
  if reference:
    row['smp_train_img_s'], row['smp_infer_img_s'] = reference
  return row


def run(options: harness.Options) -> list[dict]:
  cases = CASES[:1] if options.quick else CASES
  rows = [measure(name, size, batch if not options.quick else 2, max(1, options.repeats), **kwargs)
          for name, size, batch, kwargs in cases]
  if not options.quick:  # segmentation_models_pytorch's decoder has one separable 3x3 conv, ours two
    rows += [measure(name, size, batch, max(1, options.repeats), decoder_convs=1)
             for name, size, batch in SMP_REFERENCE]
  if jax.default_backend() != 'cpu':  # accelerators: the bf16 DeepLabv3+ ResNet-50 figure too
    rows.append(measure('deeplabv3plus_resnet50', 256, 64, max(1, options.repeats), jnp.bfloat16))
  return rows
