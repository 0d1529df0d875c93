"""Test-wide setup: 8 simulated CPU devices, configured before JAX initializes its backends."""

import os

os.environ.setdefault('JAX_PLATFORMS', 'cpu')
_flags = os.environ.get('XLA_FLAGS', '')
if '--xla_force_host_platform_device_count' not in _flags:
  os.environ['XLA_FLAGS'] = (_flags + ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

try:  # newer JAX: the explicit option; the XLA flag above covers older releases
  jax.config.update('jax_num_cpu_devices', 8)
except AttributeError:
  pass

import pathlib  # pylint: disable=g-import-not-at-top,wrong-import-position

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / 'shared'


@pytest.fixture
def shared_dir() -> pathlib.Path:
  """`../shared` beside the checkout; skips the test when it is absent (a user's fresh clone)."""
  if not SHARED.is_dir():
    pytest.skip(f'{SHARED} is absent')
  return SHARED


@pytest.fixture(scope='session')
def tiny_data_dir(tmp_path_factory) -> str:
  """A TFDS data_dir holding spectrum_sensing/synthetic_tiny (20 frames of 64x64), built once per session."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import tfds_builders.spectrum_sensing  # pylint: disable=g-import-not-at-top,unused-import
  os.environ['SPECSENSE_TFDS_WORKERS'] = '1'
  path = str(tmp_path_factory.mktemp('tfds'))
  tfds.builder('spectrum_sensing/synthetic_tiny', data_dir=path).download_and_prepare()
  return path
