"""Batches made on the accelerator equal the TFDS pipeline's: colours, masks, grey_rescale's arithmetic, mixing."""

import jax
import numpy as np
import pytest
import tensorflow as tf

from specsense_jax import spectrogram
from specsense_jax.constants import NO_LABEL
from specsense_jax.data import augment
from specsense_jax.data import device_batches


def _frames(n=6, size=32, seed=0):
  rng = np.random.default_rng(seed)
  grey = rng.integers(0, 256, (n, size, size)).astype(np.uint8)
  mask = rng.integers(0, 4, (n, size, size)).astype(np.uint8)
  mask[:, :3] = NO_LABEL
  signals = (rng.uniform(size=(n, 3)) > 0.5).astype(np.float32)
  return grey, mask, signals


def test_decolorize_inverts_colorize_and_refuses_other_colours():
  grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
  back = spectrogram.decolorize(spectrogram.colorize(grey))
  np.testing.assert_array_equal(spectrogram.colorize(back), spectrogram.colorize(grey))
  assert (back == grey).mean() > 0.95  # parula repeats a few colours: the first level of each is returned
  off = spectrogram.colorize(grey).copy()
  off[3, 4] = (1, 2, 3)
  with pytest.raises(ValueError, match='no colour of the parula map'):
    spectrogram.decolorize(off)


def test_batch_without_key_is_the_pipelines_image_and_mask():
  grey, mask, signals = _frames()
  frames = device_batches.DeviceFrames.from_host(grey, mask, signals)
  index = np.array([4, 1, 1])
  out = jax.device_get(device_batches.batch(frames, index, np.ones(3, np.float32)))
  # pipeline._preprocess: uint8 PNG colours / 255 as float32, the mask as int32 (no-label kept)
  np.testing.assert_array_equal(out['image'], spectrogram.colorize(grey[index]).astype(np.float32) / 255.0)
  np.testing.assert_array_equal(out['mask'], mask[index].astype(np.int32))
  np.testing.assert_array_equal(out['signals'], signals[index])
  assert out['image'].dtype == np.float32 and out['mask'].dtype == np.int32


def test_grey_rescale_is_the_tf_augmentations_arithmetic():
  grey, mask, _ = _frames(n=1, size=24, seed=3)
  grey = spectrogram.decolorize(spectrogram.colorize(grey))  # the levels both read back where colours repeat
  image = tf.constant(spectrogram.colorize(grey[0]).astype(np.float32) / 255.0)
  for index in range(8):
    seed = tf.constant([7, index], tf.int64)
    want = augment.grey_rescale({'image': image, 'mask': tf.constant(mask[0])}, seed)['image'].numpy()
    draws = tf.random.stateless_uniform((3,), seed).numpy()
    if draws[2] >= augment.GREY_RESCALE_PROBABILITY:
      np.testing.assert_array_equal(want, image.numpy())
      continue
    floor = np.sort(grey[0].ravel())[grey[0].size // 10]
    # in float32, as the TF graph computes them
    f32 = np.float32
    low, high = device_batches.GREY_FLOOR_RANGE
    target = f32(low) + draws[0] * f32(high - low)
    slope_low, slope_high = device_batches.GREY_SLOPE_RANGE
    slope = np.exp(f32(np.log(slope_low)) + draws[1] * f32(np.log(slope_high / slope_low)))
    got = device_batches.rescale_grey(grey[:1], np.array([floor], np.float32), np.array([target], np.float32),
                                      np.array([slope], np.float32))
    np.testing.assert_array_equal(spectrogram.colorize(np.asarray(got[0]).astype(np.uint8)).astype(np.float32) / 255,
                                  want)


def test_grey_rescale_redraws_half_the_images_with_the_floor_on_target():
  grey, _, _ = _frames(n=64, size=20, seed=4)
  out = np.asarray(device_batches.grey_rescale(grey, jax.random.key(0)))
  changed = (out != grey).any(axis=(1, 2))
  assert 20 < changed.sum() < 44  # GREY_RESCALE_PROBABILITY = 0.5 of 64
  for g, o in zip(grey[changed], out[changed]):
    floor = np.sort(g.ravel())[g.size // 10]
    at_floor = o[g == floor]
    assert len(set(at_floor.tolist())) == 1 and 48 <= at_floor[0] <= 144  # the floor lands on one drawn grey
    assert np.all(np.diff(o.ravel()[np.argsort(g.ravel(), kind='stable')]) >= 0)  # monotone: order kept
  again = np.asarray(device_batches.grey_rescale(grey, jax.random.key(0)))
  np.testing.assert_array_equal(out, again)


def test_mixed_indices_share_and_permutations():
  rng = np.random.default_rng(0)
  index = device_batches.mixed_indices(rng, [100, 50], [0.7, 0.3], 2000)
  parity = index >= 100
  assert 0.26 < parity.mean() < 0.34
  first = index[~parity][:100]
  assert sorted(first.tolist()) == list(range(100))  # a set is read as a permutation before it repeats
  assert set(index[parity].tolist()) == set(range(100, 150))
  with pytest.raises(ValueError, match='shares'):
    device_batches.mixed_indices(rng, [10, 10], [0.5, 0.6], 4)


def test_concatenate_offsets_and_from_host_checks():
  a = device_batches.DeviceFrames.from_host(*_frames(n=3))
  b = device_batches.DeviceFrames.from_host(*_frames(n=2, seed=1))
  both, offsets = device_batches.concatenate([a, b])
  assert len(both) == 5 and offsets.tolist() == [0, 3]
  np.testing.assert_array_equal(np.asarray(both.grey[3]), np.asarray(b.grey[0]))
  grey, mask, signals = _frames()
  with pytest.raises(ValueError, match='mask must be uint8'):
    device_batches.DeviceFrames.from_host(grey, mask.astype(np.int32), signals)
