"""tfds.load -> tf.data -> global batches sharded over the devices of a mesh's 'data' axis.

Every process reads the same global batches (same split, seed and order) and `global_batch` places on each of
its devices the rows that device holds. So the batches, and training, are identical for any number of
processes and devices: a run on a pod equals the same run on one host (tested with two processes). The price
is that each host reads the whole split; these datasets are small (3,000 128x128 frames are ~100 MB), and a
future multi-terabyte dataset would switch to `tfds.split_for_jax_process`. Evaluation batches are padded to
full size with a `valid` weight of 0 so every device always gets the same shape.

A dataset's class set is `dataset_class_names` (its TFDS metadata); a pipeline built for a model with another
set gives masks in the model's class ids (`metrics.to_model_classes`: truth classes it lacks become no-label).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import jax
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from specsense_jax import constants
from specsense_jax import metrics
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


def dataset_class_names(builder) -> tuple[str, ...]:
  """The class set of a TFDS builder's masks, from its metadata (`class_names`); datasets written before the
  metadata recorded it hold the three MathWorks classes."""
  metadata = builder.info.metadata
  names = metadata.get('class_names') if metadata is not None else None
  if not names:
    return constants.MATHWORKS_CLASSES
  return constants.check_class_names(names, f'{builder.info.full_name} metadata class_names')


# Which truth a pipeline's 'mask' holds (README "Which truth"): the feature each is read from.
TRUTHS = {'band': 'mask', 'occupancy': 'occupancy_mask'}


def _preprocess(example: dict[str, Any], table: tf.Tensor | None = None, truth: str = 'band') -> dict[str, Any]:
  mask = tf.cast(example[TRUTHS[truth]][..., 0], tf.int32)
  if table is not None:  # the truth in the model's class ids (see `metrics.class_map`)
    mask = tf.gather(table, mask)
  return {'image': tf.cast(example['image'], tf.float32) / 255.0,
          'mask': mask,
          # the flags every set has, so that sets with WLAN or Radar flags mix with the others
          'signals': tf.cast(example['signals'][:len(constants.SIGNAL_LABELS)], tf.float32),
          'snr_db': example['snr_db'],
          'valid': tf.ones((), tf.float32)}


def parse_mix(mix: str) -> list[tuple[str, float]]:
  """'name:weight,name:weight' -> [(name, weight)]: datasets mixed into training, each the share `weight` of the
  examples; a name may end in '@split' to mix that split instead of the training split (`mix_source`), e.g.
  'spectrum_sensing/captured_128@train+validation+test:0.2'. ValueError naming `config.train_mix` for anything
  else."""
  pairs = []
  for item in filter(None, (part.strip() for part in (mix or '').split(','))):
    name, _, weight = item.rpartition(':')
    try:
      value = float(weight)
    except ValueError:
      value = -1.0
    if not name or not 0 < value < 1:
      raise ValueError(f'config.train_mix must be "dataset:share,..." with shares in (0, 1), got {item!r}')
    pairs.append((name, value))
  if sum(w for _, w in pairs) >= 1:
    raise ValueError(f'config.train_mix shares must sum to less than 1 (the rest is config.dataset), got {mix!r}')
  return pairs


def mix_source(name: str, split: str) -> tuple[str, str]:
  """(dataset, split) of a `parse_mix` name: its own '@split' or else `split`."""
  dataset, _, own = name.partition('@')
  return dataset, own or split


def training_sources(dataset: str, split: str, mix: Sequence[tuple[str, float]] = ()) -> list[tuple[str, str, float]]:
  """(dataset, split, share) of every source a training pipeline draws from: `dataset`'s `split` for the share the
  `mix` (`parse_mix` pairs) leaves, then each mixed dataset (its own '@split' or `split`) at its share."""
  mixed = [(*mix_source(name, split), share) for name, share in mix]
  return [(dataset, split, 1 - sum(share for _, share in mix))] + mixed


def split_masks(dataset: str, split: str, *, data_dir: str | None = None, class_names: Sequence[str] | None = None,
                exclude_recordings: Sequence[str] = (), batch_size: int = 64) -> Iterator[np.ndarray]:
  """The masks of one split in file order, as int32 (n, H, W) batches in the ids of `class_names` (the dataset's
  own when None), without the frames of `exclude_recordings`."""
  builder = prepared_builder(dataset, data_dir)
  ds = _examples(builder, split, False, 0, class_names, False, exclude_recordings)
  yield from tfds.as_numpy(ds.map(lambda example: example['mask']).batch(batch_size))


def _without_recordings(ds: tf.data.Dataset, names: Sequence[str]) -> tf.data.Dataset:
  """The examples whose 'recording' is none of `names` (captured frames carry their recording's name)."""
  excluded = tf.constant(list(names), tf.string)
  return ds.filter(lambda example: tf.logical_not(tf.reduce_any(tf.equal(example['recording'], excluded))))


def input_pipeline(dataset: str, split: str, *, global_batch_size: int, train: bool, data_dir: str | None = None,
                   seed: int = 0, shuffle_buffer: int = 2048, cache: bool = True,
                   augment: Sequence[str] = (), skip_batches: int = 0,
                   class_names: Sequence[str] | None = None,
                   mix: Sequence[tuple[str, float]] = (),
                   exclude_recordings: Sequence[str] = (), truth: str = 'band') -> tf.data.Dataset:
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
    class_names: the classes of the model the batches feed; masks are given in its class ids, truth classes
      it lacks as `NO_LABEL` (`metrics.to_model_classes`). None: the dataset's own classes.
    mix: (dataset, share) pairs (`parse_mix`) whose `split` is mixed into training, each drawn for that share of
      the examples (seeded) and mapped to the same classes; the rest come from `dataset`. Training only.
    exclude_recordings: recording names whose frames are left out of `dataset` and of every mixed dataset
      (leave-one-recording-out training). Training only.
    truth: which truth 'mask' holds, a key of `TRUTHS`: 'band' (feature 'mask') or 'occupancy' (feature
      'occupancy_mask', which the realistic configs write). Evaluation only.
  """
  check_batch_size(global_batch_size)
  if truth not in TRUTHS:
    raise ValueError(f'truth must be one of {sorted(TRUTHS)}, got {truth!r}')
  if truth != 'band' and (train or mix):
    raise ValueError(f'input_pipeline: truth={truth!r} is for evaluation pipelines only')
  if (mix or exclude_recordings) and not train:
    raise ValueError('input_pipeline: mix and exclude_recordings are for training pipelines only')
  builder = prepared_builder(dataset, data_dir)
  class_names = dataset_class_names(builder) if class_names is None and mix else class_names
  if TRUTHS[truth] not in builder.info.features:
    raise ValueError(f'dataset {dataset!r} has no {truth} truth (feature {TRUTHS[truth]!r}); the realistic_* '
                     'configs write it')
  ds = _examples(builder, split, train, seed, class_names, cache, exclude_recordings, truth)
  if train:
    ds = ds.repeat()
    if mix:
      sources = training_sources(dataset, split, mix)
      parts = [ds] + [_examples(prepared_builder(mixed, data_dir), mixed_split, True, seed, class_names, cache,
                                exclude_recordings).repeat()
                      for mixed, mixed_split, _ in sources[1:]]
      shares = [share for _, _, share in sources]
      ds = tf.data.Dataset.sample_from_datasets(parts, weights=shares, seed=seed)
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


def _examples(builder, split: str, train: bool, seed: int, class_names: Sequence[str] | None,
              cache: bool, exclude_recordings: Sequence[str] = (), truth: str = 'band') -> tf.data.Dataset:
  """One split's preprocessed examples, masks in the ids of `class_names` (the dataset's own when None)."""
  read_config = tfds.ReadConfig(shuffle_seed=seed, interleave_cycle_length=1 if not train else 16)
  ds = builder.as_dataset(split=split, shuffle_files=train, read_config=read_config)
  if exclude_recordings:
    ds = _without_recordings(ds, exclude_recordings)
  table = None
  if class_names is not None:
    lookup = metrics.class_map(dataset_class_names(builder), class_names)
    if (lookup != np.arange(256)).any():
      table = tf.constant(lookup, tf.int32)
  ds = ds.map(lambda example: _preprocess(example, table, truth), num_parallel_calls=tf.data.AUTOTUNE,
              deterministic=True)
  return ds.cache() if cache else ds


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


def global_batches(ds: tf.data.Dataset, sharding: jax.sharding.Sharding) -> Iterator[dict[str, jax.Array]]:
  for local in tfds.as_numpy(ds):
    yield global_batch(local, sharding)
