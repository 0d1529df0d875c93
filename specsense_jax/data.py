"""tfds.load -> tf.data -> global batches sharded over the devices of a mesh's 'data' axis.

Each process reads its own slice of the split (`tfds.split_for_jax_process`) and assembles its local batch;
`global_batch` turns it into one jax.Array per feature spanning every process and device. Evaluation batches
are padded to full size with a `valid` weight of 0 so every device always gets the same shape.
"""

from __future__ import annotations

from typing import Any, Iterator

import jax
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

tf.config.set_visible_devices([], 'GPU')  # tf.data only: leave the accelerators to JAX


def check_batch_size(global_batch_size: int) -> int:
  """Returns the per-process batch size, or a ValueError that says what to change."""
  devices, processes = jax.device_count(), jax.process_count()
  if global_batch_size < 1 or global_batch_size % devices:
    raise ValueError(f'batch_size {global_batch_size} must be a positive multiple of the device count '
                     f'{devices} (e.g. --config.batch_size={max(devices, global_batch_size // devices * devices)})')
  return global_batch_size // processes


def prepared_builder(dataset: str, data_dir: str | None):
  """The prepared TFDS builder of `dataset`, or a ValueError that says how to build it."""
  try:
    builder = tfds.builder(dataset, data_dir=data_dir)
  except Exception as e:  # tfds raises DatasetNotFoundError and friends
    raise ValueError(f'dataset {dataset!r} is unknown to TFDS ({e}); for the spectrum_sensing configs import '
                     'tfds_builders.spectrum_sensing first') from None
  if not builder.is_prepared():
    config = dataset.split('/')[-1]
    raise ValueError(f'dataset {dataset!r} is not built in {data_dir or "~/tensorflow_datasets"}; build it '
                     f'with: tfds build tfds_builders/spectrum_sensing --config={config} '
                     f'--data_dir={data_dir or "~/tensorflow_datasets"}')
  return builder


def _preprocess(example: dict[str, Any]) -> dict[str, Any]:
  return {'image': tf.cast(example['image'], tf.float32) / 255.0,
          'mask': tf.cast(example['mask'][..., 0], tf.int32),
          'signals': tf.cast(example['signals'], tf.float32),
          'snr_db': example['snr_db'],
          'valid': tf.ones((), tf.float32)}


def input_pipeline(dataset: str, split: str, *, global_batch_size: int, train: bool, data_dir: str | None = None,
                   seed: int = 0, shuffle_buffer: int = 2048, cache: bool = True) -> tf.data.Dataset:
  """Per-process batches of {'image' float32 [0, 1] (b, H, W, 3), 'mask' int32 (b, H, W), 'signals',
  'snr_db', 'valid'}.

  Args:
    dataset: TFDS name, e.g. 'spectrum_sensing/synthetic_128'.
    split: any TFDS split expression ('train', 'train[:90%]', ...).
    global_batch_size: examples per step over all processes (a multiple of the device count).
    train: shuffle (seeded), repeat forever and drop the remainder; else one pass with a padded last batch.
    data_dir: TFDS data directory.
    seed: shuffle seed (file order and example buffer).
    shuffle_buffer: examples in the shuffle buffer.
    cache: cache decoded examples in memory (the datasets are small).
  """
  local_batch = check_batch_size(global_batch_size)
  builder = prepared_builder(dataset, data_dir)
  read_config = tfds.ReadConfig(shuffle_seed=seed, interleave_cycle_length=1 if not train else 16)
  ds = builder.as_dataset(split=tfds.split_for_jax_process(split, drop_remainder=False), shuffle_files=train,
                          read_config=read_config)
  ds = ds.map(_preprocess, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if cache:
    ds = ds.cache()
  if train:
    ds = ds.repeat().shuffle(shuffle_buffer, seed=seed).batch(local_batch, drop_remainder=True)
  else:
    ds = ds.batch(local_batch).map(lambda b: _pad_batch(b, local_batch))
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options).prefetch(2)


def _pad_batch(batch: dict[str, tf.Tensor], size: int) -> dict[str, tf.Tensor]:
  def pad(x):
    missing = size - tf.shape(x)[0]
    return tf.pad(x, [[0, missing]] + [[0, 0]] * (len(x.shape) - 1))
  return {k: pad(v) for k, v in batch.items()}


def global_batch(local: dict[str, np.ndarray], sharding: jax.sharding.Sharding) -> dict[str, jax.Array]:
  """One global jax.Array per feature from this process's part of the batch."""
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local.items()}


def global_batches(ds: tf.data.Dataset, sharding: jax.sharding.Sharding) -> Iterator[dict[str, jax.Array]]:
  for local in tfds.as_numpy(ds):
    yield global_batch(local, sharding)
