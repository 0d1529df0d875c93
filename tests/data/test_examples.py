"""Dataset examples: which signals a frame's annotations say are present."""

import json

from specsense_jax.data import examples


def test_ignore_regions_are_not_signals_and_other_labels_are_unknown():
  assert examples.SIGNAL_LABELS == ('NR', 'LTE', 'Unknown')
  assert examples._signals_present(['Ignore', 'NR']).tolist() == [True, False, False]
  assert examples._signals_present(['LTE', 'DVB-T']).tolist() == [False, True, True]
  assert examples._signals_present(['Ignore']).tolist() == [False, False, False]


def test_realistic_examples_go_through_the_capture_path_with_both_truths():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from specsense_jax import constants  # pylint: disable=g-import-not-at-top
  spec = examples.SyntheticSpec(10, 64, scene_preset='realistic', receiver_preset='realistic', scaling='floor',
                                occupancy_mask=True)
  key, ex = examples.synthetic_example(spec, 4)
  again = examples.synthetic_example(spec, 4)[1]
  assert key == 4
  for name in ('image', 'mask', 'occupancy_mask'):
    assert ex[name].tobytes() == again[name].tobytes()  # a pure function of (spec, index)
  assert ex['mask'].shape == ex['occupancy_mask'].shape == (64, 64, 1)
  params = json.loads(ex['params'])
  rate = params['receiver']['capture_rate']
  columns = (np.arange(64) + 0.5) * constants.MODEL_RATE / 64 - constants.MODEL_RATE / 2
  outside = np.abs(columns) >= rate / 2
  assert np.all(ex['mask'][:, outside, 0] == constants.NO_LABEL)
  assert np.all(ex['mask'][:, ~outside, 0] != constants.NO_LABEL)
  # occupancy never labels a signal where the band truth has none
  band, occ = ex['mask'][..., 0], ex['occupancy_mask'][..., 0]
  assert np.all((occ == 0) | (occ == constants.NO_LABEL) | (band != 0))


def test_occupancy_mask_needs_the_capture_path():
  import pytest  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match='occupancy_mask needs a receiver_preset'):
    examples.synthetic_example(examples.SyntheticSpec(10, 64, occupancy_mask=True), 0)
