"""Class-weighted loss over a padded batch and median-frequency class weights, against hand calculations."""

import jax.numpy as jnp
import numpy as np
import pytest

from specsense_jax.training import optim
from specsense_jax.training import tasks

LN2, LN3 = np.log(2.0), np.log(3.0)
WEIGHTS = jnp.array([0.5, 2.0, 1.0])  # Noise, NR, LTE

# Three 1x2 images over 3 classes. Logits (ln 2, 0, 0) give softmax (1/2, 1/4, 1/4), (0, 0, 0) a third each.
LOGITS = jnp.array([[[[LN2, 0.0, 0.0], [LN2, 0.0, 0.0]]],
                    [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
                    [[[10.0, 0.0, -10.0], [10.0, 0.0, -10.0]]]])  # the padded example: confidently wrong
LABELS = jnp.array([[[0, 1]], [[2, 1]], [[2, 2]]])


def _padded_cross_entropy() -> float:
  """-ln softmax(10, 0, -10)[2] = 20 + ln(1 + e^-10 + e^-20): what a padded pixel would add."""
  return 20 + np.log1p(np.exp(-10.0) + np.exp(-20.0))


def test_weighted_cross_entropy_over_a_padded_batch_counts_the_valid_examples_only():
  # Valid pixels: (label 0, CE ln 2, w 0.5), (1, ln 4, 2), (2, ln 3, 1), (1, ln 3, 2): the mean over 4 pixels.
  expected = (0.5 * LN2 + 2 * 2 * LN2 + 1 * LN3 + 2 * LN3) / 4
  loss = tasks.weighted_cross_entropy(LOGITS, LABELS, WEIGHTS, jnp.array([1.0, 1.0, 0.0]))
  assert float(loss) == pytest.approx(expected, rel=1e-6)
  batch = {'mask': LABELS, 'valid': jnp.array([1.0, 1.0, 0.0])}
  assert float(tasks.SEGMENTATION.loss(LOGITS, batch, WEIGHTS)) == pytest.approx(expected, rel=1e-6)
  # Counted, the padded pixels (label 2, weight 1) would add 2 x 20 over 6 pixels: 0.47 -> 8.1.
  unpadded = tasks.weighted_cross_entropy(LOGITS, LABELS, WEIGHTS, jnp.ones(3))
  assert float(unpadded) == pytest.approx((4 * expected + 2 * _padded_cross_entropy()) / 6, rel=1e-6)


def test_weighted_cross_entropy_of_an_all_padding_batch_is_zero():
  assert float(tasks.weighted_cross_entropy(LOGITS, LABELS, WEIGHTS, jnp.zeros(3))) == 0.0


def test_median_frequency_weights_of_hand_made_masks():
  # Batches as the pipeline gives them, (N, H, W), and one (H, W) mask; 4 classes, class 3 never present.
  first = np.array([[[0, 0, 0, 0], [0, 0, 1, 1]],    # Noise 6, NR 2
                    [[2, 2, 2, 2], [0, 0, 0, 0]]])   # LTE 4, Noise 4
  second = np.array([[1, 1, 1, 1], [1, 1, 1, 2]])    # NR 7, LTE 1
  pixels, image_pixels = optim.class_pixel_statistics([first, second], 4)
  np.testing.assert_array_equal(pixels, [10, 9, 5, 0])
  np.testing.assert_array_equal(image_pixels, [16, 16, 16, 0])   # each seen class appears in two 8-pixel masks
  # freq = (10, 9, 5) / 16; median 9/16 -> weights 9/10, 1, 9/5, 0 (unseen), normalized to sum 1.
  raw = np.array([0.9, 1.0, 1.8, 0.0])
  weights = optim.median_frequency_weights(pixels, image_pixels)
  np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-6)
  assert weights.dtype == np.float32


def test_median_frequency_weights_use_frequencies_within_the_images_holding_the_class():
  masks = np.zeros((2, 4, 4), np.uint8)  # image 0: NR on the top half, Noise below
  masks[0, :2] = 1
  masks[1, :3] = 2                        # image 1: LTE on 3 rows, Unknown on 2 pixels, Noise on 2
  masks[1, 3:, :2] = 3
  pixels, image_pixels = optim.class_pixel_statistics([masks], 4)
  np.testing.assert_array_equal(pixels, [10, 8, 12, 2])
  np.testing.assert_array_equal(image_pixels, [32, 16, 16, 16])
  # freq = 10/32, 8/16, 12/16, 2/16 = 0.3125, 0.5, 0.75, 0.125: an even count, so the median is the mean of the
  # middle two, 13/32; weights 13/32 / freq = 1.3, 0.8125, 13/24, 3.25, normalized to sum 1 (which cancels the
  # median: the normalized weights are 1/freq over their sum).
  raw = np.array([1.3, 0.8125, 13 / 24, 3.25])
  np.testing.assert_allclose(optim.median_frequency_weights(pixels, image_pixels), raw / raw.sum(), rtol=1e-6)


def test_mixture_statistics_are_per_drawn_example():
  # Source A: 2 examples, pixels (10, 6), image pixels (16, 8); source B: 4 examples, (4, 28), (32, 32).
  # Drawn 3 : 1, one example holds on average 0.75 (10, 6) / 2 + 0.25 (4, 28) / 4 = (4, 4) pixels of each class
  # and 0.75 (16, 8) / 2 + 0.25 (32, 32) / 4 = (8, 5) pixels of images holding it: frequencies 0.5 and 0.8.
  a = (np.array([10, 6]), np.array([16, 8]), 2, 0.75)
  b = (np.array([4, 28]), np.array([32, 32]), 4, 0.25)
  pixels, image_pixels = optim.mixture_pixel_statistics([a, b])
  np.testing.assert_allclose(pixels, [4.0, 4.0])
  np.testing.assert_allclose(image_pixels, [8.0, 5.0])
  weights = optim.median_frequency_weights(pixels, image_pixels)
  raw = np.array([1 / 0.5, 1 / 0.8])  # 1 / frequency (the median cancels in the normalisation)
  np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-6)
  # alone, source A's counts as counted (integers: the weights of one dataset do not move by a rounding)
  alone_pixels, alone_image_pixels = optim.mixture_pixel_statistics([a])
  np.testing.assert_array_equal(alone_pixels, [10, 6])
  np.testing.assert_array_equal(alone_image_pixels, [16, 8])
  with pytest.raises(ValueError, match=r'training sources \[1\] have no examples'):
    optim.mixture_pixel_statistics([a, (b[0], b[1], 0, 0.25)])
