"""Augmentations move image and mask together, are seeded per example, and reject unknown names."""

import numpy as np
import pytest
import tensorflow as tf

from specsense_jax.data import augment
from specsense_jax.data import pipeline


def _example():
  rng = np.random.default_rng(0)
  mask = rng.integers(0, 3, (16, 8)).astype(np.int32)
  image = np.stack([mask / 2.0, rng.uniform(size=(16, 8)), np.arange(16)[:, None] * np.ones((1, 8))], -1)
  return {'image': tf.constant(image, tf.float32), 'mask': tf.constant(mask), 'snr_db': tf.constant(5.0)}


@pytest.mark.parametrize('name', sorted(augment.AUGMENTATIONS))
def test_image_and_mask_stay_aligned_and_seeded(name):
  example = _example()
  outputs = []
  for index in range(6):
    out = augment.AUGMENTATIONS[name](example, tf.constant([3, index], tf.int64))
    image, mask = out['image'].numpy(), out['mask'].numpy()
    np.testing.assert_array_equal(image[..., 0] * 2, mask)  # channel 0 encodes the mask: still aligned
    assert sorted(image[:, 0, 2]) == list(range(16))          # a permutation of the time rows
    assert float(out['snr_db']) == 5.0
    outputs.append(image[:, 0, 2])
  again = augment.AUGMENTATIONS[name](example, tf.constant([3, 0], tf.int64))['image'].numpy()[:, 0, 2]
  np.testing.assert_array_equal(again, outputs[0])
  assert len({tuple(o) for o in outputs}) > 1  # different examples get different draws


def test_pipeline_with_augmentation_is_deterministic(tiny_data_dir):
  def first(seed):
    ds = pipeline.input_pipeline('spectrum_sensing/synthetic_tiny', 'train', global_batch_size=8, train=True,
                                 data_dir=tiny_data_dir, seed=seed, augment=('time_roll', 'time_flip'))
    return next(iter(ds))['mask'].numpy()
  np.testing.assert_array_equal(first(0), first(0))
  assert not np.array_equal(first(0), first(1))


def test_unknown_augmentation():
  with pytest.raises(ValueError, match=r"config.augment: unknown augmentations \['freq_flip'\]; known: "
                                       r"\['time_flip', 'time_roll'\]"):
    augment.check(['time_roll', 'freq_flip'])
