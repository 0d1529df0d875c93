"""TFDS conformance tests of the spectrum_sensing builder (synthetic tiny config and a captured config)."""

import os

import tensorflow_datasets as tfds

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
  # lte_dummy: 45 ms -> 2 frames (40 + 5 ms); nr_dummy: 8 ms -> 1 frame. Each recording goes whole to one split.
  frames = {'lte_dummy': 2, 'nr_dummy': 1}
  counts = {}
  for name, split in splits.recording_splits(list(frames)).items():
    counts[split] = counts.get(split, 0) + frames[name]
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
