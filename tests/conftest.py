"""Test-wide setup: 8 simulated CPU devices, configured before JAX initializes its backends."""

import os

os.environ.setdefault('JAX_PLATFORMS', 'cpu')
_flags = os.environ.get('XLA_FLAGS', '')
if '--xla_force_host_platform_device_count' not in _flags:
  os.environ['XLA_FLAGS'] = (_flags + ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
# Compile time dominates these tests (tiny models, a few steps, many processes): XLA's optimization passes are
# skipped, and compiled programs are shared through a persistent cache by the xdist workers and the launchers
# the tests start as subprocesses (they inherit these variables). Every compared pair of runs in a test uses the
# same settings, so no assertion depends on them; the benchmarks, not the tests, measure speed.
os.environ.setdefault('JAX_DISABLE_MOST_OPTIMIZATIONS', '1')
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:  # the first process of the session (pytest's controller)
  import atexit  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  import tempfile  # pylint: disable=g-import-not-at-top
  os.environ['JAX_COMPILATION_CACHE_DIR'] = tempfile.mkdtemp(prefix='specsense-test-jax-cache-')
  atexit.register(shutil.rmtree, os.environ['JAX_COMPILATION_CACHE_DIR'], ignore_errors=True)
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

try:  # newer JAX: the explicit option; the XLA flag above covers older releases
  jax.config.update('jax_num_cpu_devices', 8)
except AttributeError:
  pass

import pathlib  # pylint: disable=g-import-not-at-top,wrong-import-position

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / 'shared'


# Set by .ci/run, where ../shared is always beside the checkout: a missing ../shared then fails the tests that
# need it instead of skipping them, so CI cannot pass by skipping them.
REQUIRE_SHARED = 'SPECSENSE_REQUIRE_SHARED'


@pytest.fixture
def shared_dir() -> pathlib.Path:
  """`../shared` beside the checkout, the one way a test reaches it. When it is absent (a user's fresh clone)
  the test is skipped, or fails under SPECSENSE_REQUIRE_SHARED=1 (CI)."""
  if not SHARED.is_dir():
    if os.environ.get(REQUIRE_SHARED, '0') not in ('', '0'):
      pytest.fail(f'{SHARED} is absent and {REQUIRE_SHARED}={os.environ[REQUIRE_SHARED]} requires it: put the '
                  'shared folder beside the checkout, or unset the variable to skip these tests')
    pytest.skip(f'{SHARED} is absent (set {REQUIRE_SHARED}=1 to fail instead)')
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


@pytest.fixture(scope='session')
def realistic_tiny_data_dir(tiny_data_dir) -> str:
  """`tiny_data_dir` with spectrum_sensing/realistic_tiny (20 realistic 64x64 frames) built beside
  synthetic_tiny, so that the two can be mixed."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds.builder('spectrum_sensing/realistic_tiny', data_dir=tiny_data_dir).download_and_prepare()
  return tiny_data_dir


# --- Shared helpers of the test modules, as fixtures (no test module imports another) -----------------------

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def repo_dir() -> pathlib.Path:
  """The repository root: the working directory of `python -m launch.*` subprocesses and of sweep files."""
  return REPO


@pytest.fixture
def tiny_config(tiny_data_dir):
  """`tiny_config(**overrides)`: configs/default.py:runlocal on the tiny dataset with a small custom network
  (widths 8, 16), each keyword overriding one config key."""
  from configs import default  # pylint: disable=g-import-not-at-top

  def make(**overrides):
    config = default.get_config('runlocal')
    with config.unlocked():
      config.data_dir = tiny_data_dir
      config.model_kwargs = {'widths': (8, 16)}
      for key, value in overrides.items():
        setattr(config, key, value)
    return config
  return make
