"""Score averaging of `predict_frames` against a hand calculation: a stub network whose class probabilities are
the frame's pixel values, so each frame's scores and their running mean over consecutive frames are known."""

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models


class _LogOfImage(nn.Module):
  """Logits log(image): softmax turns them back into the image's channels over their sum."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    return jnp.log(jnp.maximum(x, 1e-6))  # padding of the last batch (zeros) stays finite


STUB = trained_models.TrainedModel('stub', ml_collections.ConfigDict({'image_size': 4}), _LogOfImage(), {})

# Class scores x10 of each frame's left and right halves: probabilities [Noise, NR, LTE] = values / 10.
SCORES = [([6, 3, 1], [1, 1, 8]),
          ([3, 5, 2], [1, 6, 3]),
          ([1, 2, 7], [5, 4, 1])]


def _frames(valid_columns=None):
  out = []
  for index, (left, right) in enumerate(SCORES):
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, :2] = np.array(left) * 25   # uint8 25..200; /255 then log: softmax gives value / sum(values)
    image[:, 2:] = np.array(right) * 25
    out.append(frames.Frame(index=index, image=image, start_s=0.04 * index, duration_s=0.04, center_frequency=1e9,
                            span_hz=61.44e6, valid_columns=np.ones(4, bool) if valid_columns is None else valid_columns,
                            valid_rows=np.ones(4, bool)))
  return out


def _expected(rows):
  """(left, right) probabilities per frame from rows of SCORES."""
  return [(np.array(left) / 10, np.array(right) / 10) for left, right in rows]


def _check(result, expected_scores, expected_classes):
  assert len(result) == len(expected_scores)
  for (frame, mask, scores), (left, right), classes in zip(result, expected_scores, expected_classes):
    np.testing.assert_allclose(scores[:, :2], np.broadcast_to(left, (4, 2, 3)), rtol=1e-5, err_msg=frame.index)
    np.testing.assert_allclose(scores[:, 2:], np.broadcast_to(right, (4, 2, 3)), rtol=1e-5, err_msg=frame.index)
    np.testing.assert_array_equal(mask[0], [classes[0]] * 2 + [classes[1]] * 2)


def test_single_frames_give_each_frames_own_probabilities():
  result = list(predict.predict_frames(STUB, _frames(), batch_size=2))
  _check(result, _expected(SCORES), [(0, 2), (1, 1), (2, 0)])
  for _, mask, scores in result:  # the mask made on the device is the argmax of the scores given
    np.testing.assert_array_equal(mask, np.argmax(scores, -1))
  # ... and takes NO_LABEL outside the band like the host's
  clipped = list(predict.predict_frames(STUB, _frames(np.array([True, True, True, False])), batch_size=2))
  assert all((mask[:, 3] == constants.NO_LABEL).all() and (mask[:, :3] < 3).all() for _, mask, _ in clipped)


def test_average_of_two_is_the_mean_with_the_previous_frame_across_batches():
  # Frame 0 has no predecessor; frame 1 averages frames 0-1 (in the first batch of 2), frame 2 frames 1-2 (the
  # second batch: the window carries over). By hand, x10:
  #   frame 1 left  (6+3, 3+5, 1+2)/2 = (4.5, 4, 1.5) -> Noise (alone: NR)
  #   frame 1 right (1+1, 1+6, 8+3)/2 = (1, 3.5, 5.5) -> LTE   (alone: NR)
  #   frame 2 left  (3+1, 5+2, 2+7)/2 = (2, 3.5, 4.5) -> LTE   (frame 0 no longer counts)
  #   frame 2 right (1+5, 6+4, 3+1)/2 = (3, 5, 2)     -> NR    (alone: Noise)
  result = list(predict.predict_frames(STUB, _frames(), batch_size=2, average=2))
  expected = [SCORES[0], ([4.5, 4, 1.5], [1, 3.5, 5.5]), ([2, 3.5, 4.5], [3, 5, 2])]
  _check(result, _expected(expected), [(0, 2), (0, 2), (2, 1)])


def test_average_of_three_over_all_frames_and_no_label_outside_the_band():
  valid_columns = np.array([True, True, True, False])
  result = list(predict.predict_frames(STUB, _frames(valid_columns), batch_size=8, average=3))
  # frame 2: (6+3+1, 3+5+2, 1+2+7)/3 = (10, 10, 10)/3 on the left; (1+1+5, 1+6+4, 8+3+1)/3 = (7, 11, 12)/3 right
  left, right = np.array([10, 10, 10]) / 30, np.array([7, 11, 12]) / 30
  np.testing.assert_allclose(result[2][2][:, :2], np.broadcast_to(left, (4, 2, 3)), rtol=1e-5)
  np.testing.assert_allclose(result[2][2][:, 2:], np.broadcast_to(right, (4, 2, 3)), rtol=1e-5)
  for _, mask, _ in result:
    assert (mask[:, 3] == constants.NO_LABEL).all() and (mask[:, :3] != constants.NO_LABEL).all()
  np.testing.assert_array_equal(result[2][1][:, 2], 2)


def test_average_below_one_is_refused():
  with pytest.raises(ValueError, match='--average must be at least 1, got 0'):
    next(predict.predict_frames(STUB, _frames(), average=0))


def test_a_bad_frame_still_gives_the_batches_before_it():
  def stream():
    yield from _frames()[:2]  # one full batch of two
    raise ValueError('a corrupt frame')
  got = []
  with pytest.raises(ValueError, match='a corrupt frame'):
    for item in predict.predict_frames(STUB, stream(), batch_size=2):
      got.append(item)
  _check(got, _expected(SCORES[:2]), [(0, 2), (1, 1)])  # the batch in flight is finished before the error
