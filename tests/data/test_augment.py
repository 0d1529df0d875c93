"""Augmentations move image and mask together, are seeded per example, and reject unknown names."""

import numpy as np
import pytest
import tensorflow as tf

from specsense_jax import spectrogram
from specsense_jax.data import augment
from specsense_jax.data import pipeline


def _example():
  rng = np.random.default_rng(0)
  mask = rng.integers(0, 3, (16, 8)).astype(np.int32)
  image = np.stack([mask / 2.0, rng.uniform(size=(16, 8)), np.arange(16)[:, None] * np.ones((1, 8))], -1)
  return {'image': tf.constant(image, tf.float32), 'mask': tf.constant(mask), 'snr_db': tf.constant(5.0)}


@pytest.mark.parametrize('name', ['time_flip', 'time_roll'])
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


def test_grey_rescale_moves_the_floor_and_slope_within_the_colour_map():
  grey = np.random.default_rng(1).integers(0, 256, (32, 16))
  image = spectrogram.colorize(grey.astype(np.uint8)).astype(np.float32) / 255
  mask = np.random.default_rng(2).integers(0, 3, (32, 16)).astype(np.int32)
  floor = np.sort(grey.ravel())[grey.size // 10]
  lut = spectrogram.colorize(np.arange(256, dtype=np.uint8))
  changed = 0
  for index in range(40):
    seed = tf.constant([7, index], tf.int64)
    out = augment.grey_rescale({'image': tf.constant(image), 'mask': tf.constant(mask)}, seed)
    np.testing.assert_array_equal(out['mask'], mask)
    draws = tf.random.stateless_uniform((3,), seed).numpy()
    if draws[2] >= 0.5:
      np.testing.assert_array_equal(out['image'], image)
      continue
    changed += 1
    target = 48 + draws[0] * 96
    slope = 0.7 * 2 ** draws[1]  # log-uniform over [0.7, 1.4]
    expected = np.clip(np.round(target + slope * (grey - floor)), 0, 255).astype(np.uint8)
    colours = np.round(out['image'].numpy() * 255).astype(np.int64)
    read_back = np.abs(colours[..., None, :] - lut.astype(np.int64)).sum(-1).argmin(-1)
    np.testing.assert_array_equal(lut[read_back], colours)  # still colours of the map
    # float32 against float64 arithmetic: a pixel at a rounding tie may land one grey level apart
    assert np.abs(read_back - expected.astype(np.int64)).max() <= 1 and np.mean(read_back == expected) > 0.97
    assert 48 <= target <= 144 and abs(np.median(expected[grey == floor]) - target) <= 1
  assert 10 <= changed <= 30
  gray = np.repeat(grey[..., None], 3, -1).astype(np.float32) / 255  # another colour map: refused
  with pytest.raises(tf.errors.InvalidArgumentError, match='not in the parula colour map'):
    augment.grey_rescale({'image': tf.constant(gray), 'mask': tf.constant(mask)}, tf.constant([7, 0], tf.int64))


def test_pipeline_with_augmentation_is_deterministic(tiny_data_dir):
  def first(seed):
    ds = pipeline.input_pipeline('spectrum_sensing/synthetic_tiny', 'train', global_batch_size=8, train=True,
                                 data_dir=tiny_data_dir, seed=seed, augment=('time_roll', 'time_flip'))
    return next(iter(ds))['mask'].numpy()
  np.testing.assert_array_equal(first(0), first(0))
  assert not np.array_equal(first(0), first(1))


def test_unknown_augmentation():
  with pytest.raises(ValueError, match=r"config.augment: unknown augmentations \['freq_flip'\]; known: "
                                       r"\['grey_rescale', 'time_flip', 'time_roll'\]"):
    augment.check(['time_roll', 'freq_flip'])


def test_grey_levels_by_colour_key_equal_the_nearest_colour_search():
  # every level of the map, the two levels that share a colour included (the first one wins in both)
  table = spectrogram.colorize(np.arange(256, dtype=np.uint8)).reshape(256, 3).astype(np.float32) / 255
  pixels = tf.constant(table)
  all_exact, exact = augment._grey_by_key(pixels)  # pylint: disable=protected-access
  assert bool(all_exact)
  exact = exact.numpy()
  nearest = augment._nearest_grey(pixels, tf.constant(table)).numpy()  # pylint: disable=protected-access
  np.testing.assert_array_equal(exact, nearest)
  assert len(set(exact.tolist())) == 255  # one pair of levels shares a colour in this map
  # a pixel a hair off the map's grid is not exact: the nearest-colour search decides
  assert not bool(augment._grey_by_key(pixels + 0.3 / 255)[0])  # pylint: disable=protected-access
