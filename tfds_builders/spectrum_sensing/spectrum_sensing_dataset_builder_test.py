"""TFDS conformance tests of the spectrum_sensing builder (synthetic tiny config and a captured config)."""

import os

import tensorflow_datasets as tfds

from specsense_jax.data import examples
from specsense_jax.data import splits
from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder

os.environ.setdefault('SPECSENSE_TFDS_WORKERS', '1')
_DUMMY = os.path.join(os.path.dirname(__file__), 'dummy_data')


class SyntheticTinyTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = spectrum_sensing_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ['synthetic_tiny']
  SPLITS = {'train': 16, 'validation': 2, 'test': 2}
  MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False
  SKIP_CHECKSUMS = True


def _captured_splits():
  # lte_dummy: 45 ms -> 2 frames; nr_dummy: 8 ms -> 1 frame. Splits follow a stable hash of recording/frame.
  counts = {}
  for name in ('lte_dummy/0', 'lte_dummy/1', 'nr_dummy/0'):
    split = splits.split_of_name(name)
    counts[split] = counts.get(split, 0) + 1
  return counts


class CapturedTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = spectrum_sensing_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ['captured_128']
  SPLITS = _captured_splits()
  EXAMPLE_DIR = _DUMMY
  MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False
  SKIP_CHECKSUMS = True


if __name__ == '__main__':
  tfds.testing.test_main()
