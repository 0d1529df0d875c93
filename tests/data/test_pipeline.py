"""Input pipeline: tfds -> per-process batches -> global arrays sharded over 8 simulated devices."""

import jax
import numpy as np
import pytest
import tensorflow as tf

from specsense_jax.data import pipeline
from specsense_jax.training import steps
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the builder

DATASET = 'spectrum_sensing/synthetic_tiny'


def _mesh_sharding():
  mesh = steps.data_mesh()
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))


def test_train_batches_are_sharded_and_deterministic(tiny_data_dir):
  def first_masks(seed):
    ds = pipeline.input_pipeline(DATASET, 'train', global_batch_size=8, train=True, data_dir=tiny_data_dir, seed=seed)
    batches = pipeline.global_batches(ds, _mesh_sharding())
    return [np.asarray(next(batches)['mask']) for _ in range(3)]
  ds = pipeline.input_pipeline(DATASET, 'train', global_batch_size=8, train=True, data_dir=tiny_data_dir)
  batch = next(pipeline.global_batches(ds, _mesh_sharding()))
  assert batch['image'].shape == (8, 64, 64, 3) and batch['image'].dtype == np.float32
  assert batch['mask'].shape == (8, 64, 64) and batch['mask'].dtype == np.int32
  assert len(batch['image'].addressable_shards) == 8
  assert float(batch['image'].max()) <= 1.0
  a, b, c = first_masks(1), first_masks(1), first_masks(2)
  assert all(np.array_equal(x, y) for x, y in zip(a, b))
  assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_eval_pass_covers_split_once_with_padding(tiny_data_dir):
  ds = pipeline.input_pipeline(DATASET, 'train', global_batch_size=8, train=False, data_dir=tiny_data_dir)
  batches = list(pipeline.global_batches(ds, _mesh_sharding()))
  valid = np.concatenate([np.asarray(b['valid']) for b in batches])
  assert len(batches) == 2 and valid.sum() == 16  # 16 train frames, two full batches
  ds = pipeline.input_pipeline(DATASET, 'validation', global_batch_size=8, train=False, data_dir=tiny_data_dir)
  (batch,) = list(pipeline.global_batches(ds, _mesh_sharding()))
  np.testing.assert_array_equal(np.asarray(batch['valid']), [1, 1, 0, 0, 0, 0, 0, 0])  # 2 frames padded to 8


def test_errors_say_what_to_change(tmp_path, tiny_data_dir):
  with pytest.raises(ValueError, match='multiple of the device count 8'):
    pipeline.input_pipeline(DATASET, 'train', global_batch_size=12, train=True, data_dir=tiny_data_dir)
  with pytest.raises(ValueError, match='tfds build tfds_builders/spectrum_sensing --config=captured_128'):
    pipeline.input_pipeline('spectrum_sensing/captured_128', 'train', global_batch_size=8, train=True,
                            data_dir=str(tmp_path))


def test_unbuilt_synthetic_dataset_is_built_on_first_use(tmp_path, monkeypatch):
  monkeypatch.setenv('SPECSENSE_TFDS_WORKERS', '1')
  builder = pipeline.prepared_builder(DATASET, str(tmp_path))
  assert builder.is_prepared()
  assert {name: split.num_examples for name, split in builder.info.splits.items()} == {
      'train': 16, 'validation': 2, 'test': 2}


def test_unbuilt_captured_dataset_says_how_to_build_it(tmp_path):
  with pytest.raises(ValueError, match=r"'spectrum_sensing/captured_128' is not built in .*tfds build "
                                       r'tfds_builders/spectrum_sensing --config=captured_128 .*manual folder'):
    pipeline.prepared_builder('spectrum_sensing/captured_128', str(tmp_path))


def test_parse_mix():
  assert pipeline.parse_mix('') == [] and pipeline.parse_mix(None) == []
  assert pipeline.parse_mix('a/b:0.3, c/d:0.2') == [('a/b', 0.3), ('c/d', 0.2)]
  for bad in ('a/b', 'a/b:x', 'a/b:0', 'a/b:1.0', ':0.5'):
    with pytest.raises(ValueError, match='config.train_mix must be'):
      pipeline.parse_mix(bad)
  with pytest.raises(ValueError, match='sum to less than 1'):
    pipeline.parse_mix('a/b:0.6,c/d:0.5')


def test_mixed_training_draws_each_dataset_for_its_share(realistic_tiny_data_dir):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  def images(name):
    ds = tfds.load(name, split='train', data_dir=realistic_tiny_data_dir)
    return {e['image'].tobytes() for e in tfds.as_numpy(ds)}
  parity = images(DATASET)

  def drawn(seed):
    ds = pipeline.input_pipeline('spectrum_sensing/realistic_tiny', 'train', global_batch_size=8, train=True,
                                 data_dir=realistic_tiny_data_dir, seed=seed, mix=[(DATASET, 0.3)])
    batches = [next(it) for it in [iter(tfds.as_numpy(ds))] for _ in range(50)]
    raw = [np.round(b['image'] * 255).astype(np.uint8) for b in batches]
    return np.array([image.tobytes() in parity for batch in raw for image in batch]), batches
  from_parity, batches = drawn(0)
  assert 0.2 < from_parity.mean() < 0.4  # 400 draws of a 30 % share
  assert {int(v) for b in batches for v in np.unique(b['mask'])} <= {0, 1, 2, 3, 255}
  again, _ = drawn(0)
  np.testing.assert_array_equal(from_parity, again)  # seeded: the same draws
  with pytest.raises(ValueError, match='mix and exclude_recordings are for training pipelines only'):
    pipeline.input_pipeline(DATASET, 'train', global_batch_size=8, train=False, data_dir=realistic_tiny_data_dir,
                            mix=[(DATASET, 0.3)])


def test_sets_with_more_signal_flags_give_the_flags_every_set_has():
  # A six-class set flags WLAN and Radar after NR, LTE and Unknown; batches carry the first three, so it mixes
  # with three- and four-class sets.
  example = {'image': tf.zeros((4, 4, 3), tf.uint8), 'mask': tf.fill((4, 4, 1), tf.constant(4, tf.uint8)),
             'signals': tf.constant([True, False, True, True, False]), 'snr_db': tf.constant(3.0)}
  out = pipeline._preprocess(example)  # pylint: disable=protected-access
  np.testing.assert_array_equal(out['signals'].numpy(), [1.0, 0.0, 1.0])
  assert out['mask'].shape == (4, 4) and int(out['mask'][0, 0]) == 4


def test_occupancy_truth_is_read_where_the_dataset_has_it(realistic_tiny_data_dir):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name = 'spectrum_sensing/realistic_tiny'
  raw = list(tfds.as_numpy(tfds.builder(name, data_dir=realistic_tiny_data_dir).as_dataset(
      split='train', shuffle_files=False, read_config=tfds.ReadConfig(interleave_cycle_length=1))))
  masks = {}
  for truth in pipeline.TRUTHS:
    ds = pipeline.input_pipeline(name, 'train', global_batch_size=8, train=False, data_dir=realistic_tiny_data_dir,
                                 truth=truth)
    batches = list(pipeline.global_batches(ds, _mesh_sharding()))
    masks[truth] = np.concatenate([np.asarray(b['mask']) for b in batches])[:len(raw)]
  np.testing.assert_array_equal(masks['band'], np.stack([ex['mask'][..., 0] for ex in raw]))
  np.testing.assert_array_equal(masks['occupancy'], np.stack([ex['occupancy_mask'][..., 0] for ex in raw]))
  assert (masks['band'] != masks['occupancy']).any()  # idle symbols and TDD gaps are band but not occupancy
  with pytest.raises(ValueError, match=r"has no occupancy truth \(feature 'occupancy_mask'\)"):
    pipeline.input_pipeline(DATASET, 'train', global_batch_size=8, train=False, data_dir=realistic_tiny_data_dir,
                            truth='occupancy')
  with pytest.raises(ValueError, match='truth must be one of'):
    pipeline.input_pipeline(name, 'train', global_batch_size=8, train=False, data_dir=realistic_tiny_data_dir,
                            truth='cells')
  with pytest.raises(ValueError, match='evaluation pipelines only'):
    pipeline.input_pipeline(name, 'train', global_batch_size=8, train=True, data_dir=realistic_tiny_data_dir,
                            truth='occupancy')
