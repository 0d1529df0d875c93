"""The `spectrum_sensing` TFDS dataset; importing this package registers it with TFDS."""

from tfds_builders.spectrum_sensing.spectrum_sensing_dataset_builder import Builder
