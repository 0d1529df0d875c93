"""tfds.load -> tf.data -> global batches sharded over the devices of a mesh's 'data' axis.

Every process reads the same global batches (same split, seed and order) and `global_batch` places on each of
its devices the rows that device holds. So the batches, and training, are identical for any number of
processes and devices: a run on a pod equals the same run on one host (tested with two processes). The price
is that each host reads the whole split; these datasets are small (3,000 128x128 frames are ~100 MB), and a
future multi-terabyte dataset would switch to `tfds.split_for_jax_process`. Evaluation batches are padded to
full size with a `valid` weight of 0 so every device always gets the same shape.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import jax
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from specsense_jax.data import augment as augment_lib


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
    if getattr(builder.builder_config, 'kind', None) != 'synthetic':  # recordings a user must provide
      raise ValueError(f'dataset {dataset!r} is not built in {data_dir or "~/tensorflow_datasets"}; build it '
                       f'with: tfds build tfds_builders/spectrum_sensing --config={config} '
                       f'--data_dir={data_dir or "~/tensorflow_datasets"} (its manual folder holds the recordings)')
    # Synthetic data needs nothing from the user: build it on first use, as tfds.load(download=True) would.
    print(f'building {dataset} in {data_dir or "~/tensorflow_datasets"} (once) ...', flush=True)
    builder.download_and_prepare()
  return builder


def _preprocess(example: dict[str, Any]) -> dict[str, Any]:
  return {'image': tf.cast(example['image'], tf.float32) / 255.0,
          'mask': tf.cast(example['mask'][..., 0], tf.int32),
          'signals': tf.cast(example['signals'], tf.float32),
          'snr_db': example['snr_db'],
          'valid': tf.ones((), tf.float32)}


def input_pipeline(dataset: str, split: str, *, global_batch_size: int, train: bool, data_dir: str | None = None,
                   seed: int = 0, shuffle_buffer: int = 2048, cache: bool = True,
                   augment: Sequence[str] = (), skip_batches: int = 0) -> tf.data.Dataset:
  """Global batches (the same on every process) of {'image' float32 [0, 1] (b, H, W, 3), 'mask' int32
  (b, H, W), 'signals', 'snr_db', 'valid'}.

  Args:
    dataset: TFDS name, e.g. 'spectrum_sensing/synthetic_128'.
    split: any TFDS split expression ('train', 'train[:90%]', ...).
    global_batch_size: examples per step over all processes (a multiple of the device count).
    train: shuffle (seeded), repeat forever and drop the remainder; else one pass with a padded last batch.
    data_dir: TFDS data directory.
    seed: shuffle seed (file order and example buffer).
    shuffle_buffer: examples in the shuffle buffer.
    cache: cache decoded examples in memory (the datasets are small).
    augment: names from `augment.AUGMENTATIONS` applied to training examples (seeded per example).
    skip_batches: global batches to drop from the start (a resumed run skips those its first part consumed;
      they are read and dropped by tf.data, never placed on devices).
  """
  check_batch_size(global_batch_size)
  builder = prepared_builder(dataset, data_dir)
  read_config = tfds.ReadConfig(shuffle_seed=seed, interleave_cycle_length=1 if not train else 16)
  ds = builder.as_dataset(split=split, shuffle_files=train, read_config=read_config)
  ds = ds.map(_preprocess, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if cache:
    ds = ds.cache()
  if train:
    ds = ds.repeat()
    if augment:
      ds = ds.enumerate().map(augment_lib.augmenter(augment, seed), num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=True)
    ds = ds.shuffle(shuffle_buffer, seed=seed).batch(global_batch_size, drop_remainder=True)
  else:
    ds = ds.batch(global_batch_size).map(lambda b: _pad_batch(b, global_batch_size))
  if skip_batches:
    ds = ds.skip(skip_batches)
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options).prefetch(2)


def _pad_batch(batch: dict[str, tf.Tensor], size: int) -> dict[str, tf.Tensor]:
  def pad(x):
    missing = size - tf.shape(x)[0]
    return tf.pad(x, [[0, missing]] + [[0, 0]] * (len(x.shape) - 1))
  return {k: pad(v) for k, v in batch.items()}


def global_batch(batch: dict[str, np.ndarray], sharding: jax.sharding.Sharding) -> dict[str, jax.Array]:
  """One jax.Array per feature of a host batch, each local device holding its rows under `sharding`."""
  def place(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
  return {k: place(v) for k, v in batch.items()}


def to_host(tree):
  """numpy copies of (possibly multi-process, sharded) arrays, gathered from every process."""
  if jax.process_count() == 1:
    return jax.tree.map(np.asarray, tree)
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return multihost_utils.process_allgather(tree, tiled=True)


def global_batches(ds: tf.data.Dataset, sharding: jax.sharding.Sharding) -> Iterator[dict[str, jax.Array]]:
  for local in tfds.as_numpy(ds):
    yield global_batch(local, sharding)
