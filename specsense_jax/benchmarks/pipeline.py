"""Input-pipeline benchmark: images/s the training pipeline (`data.pipeline.input_pipeline`: TFDS read, PNG
decode, class mapping, `grey_rescale`, shuffle, batch) delivers on this host, first pass (from disk) and cached,
beside what the default model's train step consumes in the same run; the pipeline keeps an accelerator fed
when its rate exceeds the step's (per host: each host reads its own share)."""

from __future__ import annotations

import itertools
import time

from specsense_jax.benchmarks import harness
from specsense_jax.benchmarks import models
from specsense_jax.data import pipeline

DATASET = 'spectrum_sensing/synthetic_tiny'  # builds in seconds where nothing else is prepared
BATCH = 64


def _rate(batches, count: int, batch: int) -> float:
  start = time.perf_counter()
  for _ in itertools.islice(batches, count):
    pass
  return count * batch / (time.perf_counter() - start)


def run(options: harness.Options) -> list[dict]:
  """Pipeline images/s (first pass and cached) for `options.dataset` and the default model's train step."""
  dataset = options.dataset or DATASET
  builder = pipeline.prepared_builder(dataset, options.data_dir or None)
  size = builder.info.features['image'].shape[0]
  num_train = builder.info.splits['train'].num_examples
  batch = min(BATCH, max(1, num_train))
  ds = pipeline.input_pipeline(dataset, 'train', global_batch_size=batch, train=True,
                               data_dir=options.data_dir or None, augment=('grey_rescale',))
  batches = iter(ds.as_numpy_iterator())
  first_pass = max(1, num_train // batch)  # the cache fills while the first epoch is read
  first = _rate(batches, first_pass, batch)
  cached = _rate(batches, max(3, 2 * first_pass) if not options.quick else 3, batch)
  # --quick: a narrow network, as a smoke test of the bookkeeping (its step is not the default's)
  kwargs = {'stem_stride': 2, **({'widths': (8, 16)} if options.quick else {})}
  step = models.measure('custom', size, 16 if not options.quick else 2, max(1, options.repeats), **kwargs)
  return [{'dataset': dataset, 'size': size, 'batch': batch, 'first_pass_img_s': first, 'cached_img_s': cached,
           'step_model': step['model'], 'train_img_s': step['train_img_s'],
           'cached_over_step': cached / step['train_img_s']}]
