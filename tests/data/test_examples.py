"""Dataset examples: which signals a frame's annotations say are present."""

from specsense_jax.data import examples


def test_ignore_regions_are_not_signals_and_other_labels_are_unknown():
  assert examples.SIGNAL_LABELS == ('NR', 'LTE', 'Unknown')
  assert examples._signals_present(['Ignore', 'NR']).tolist() == [True, False, False]
  assert examples._signals_present(['LTE', 'DVB-T']).tolist() == [False, True, True]
  assert examples._signals_present(['Ignore']).tolist() == [False, False, False]
