"""portable_math: accurate against numpy, exact special values, and dataset examples that are the same bits
whatever SIMD kernels numpy and glibc pick on this CPU."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal

from specsense_jax import portable_math

RNG = np.random.default_rng(0)
WIDE = np.concatenate([RNG.uniform(-10, 10, 20000), RNG.uniform(-1e4, 1e4, 20000), np.linspace(-7, 7, 2001)])


def _ulps(got, want):
  got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
  return np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(np.float64).tiny))


def test_sin_cos_within_a_few_ulps_or_1e16_of_numpy():
  sin, cos = portable_math.sincos(WIDE)
  # Near a zero, the error is absolute (|x| eps from the argument reduction), not relative.
  for got, want in ((sin, np.sin(WIDE)), (cos, np.cos(WIDE))):
    err = np.abs(got - want)
    assert np.all((_ulps(got, want) <= 4) | (err <= 4e-16 * np.maximum(1, np.abs(WIDE)))), err.max()
  assert portable_math.sin(np.float32(0.5)).dtype == np.float32
  np.testing.assert_array_equal(portable_math.sincos(np.array([0.0, np.inf, np.nan]))[0], [0.0, np.nan, np.nan])
  assert portable_math.cos(0.0) == 1.0


def test_exp_log_within_two_ulps_of_numpy_and_exact_at_the_edges():
  x = RNG.uniform(-700, 700, 50000)
  assert _ulps(portable_math.exp(x), np.exp(x)).max() <= 2
  y = np.exp(RNG.uniform(-700, 700, 50000))
  assert _ulps(portable_math.log(y), np.log(y)).max() <= 2
  assert _ulps(portable_math.log10(y), np.log10(y)).max() <= 3
  with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
    edge = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, 800.0, -800.0])
    np.testing.assert_array_equal(portable_math.exp(edge[[0, 1, 3, 4, 5, 6, 7, 8]]),
                                  [1.0, 1.0, np.inf, 0.0, np.nan, 1.0, np.inf, 0.0])
    np.testing.assert_array_equal(portable_math.log(edge), np.log(edge))
  assert portable_math.log(1.0) == 0.0 and _ulps(portable_math.exp(1.0), np.e) <= 1
  assert portable_math.db_to_power(30.0) == pytest.approx(1000.0, rel=1e-15)
  assert portable_math.db_to_amplitude(-20.0) == pytest.approx(0.1, rel=1e-15)
  assert portable_math.power_to_db(100.0) == pytest.approx(20.0, rel=1e-15)
  assert isinstance(portable_math.db_to_power(3.0), float)


def test_cmul_is_the_complex_product_and_bitwise_commutative():
  a = (RNG.normal(size=4096) + 1j * RNG.normal(size=4096)).astype(np.complex64)
  b = (RNG.normal(size=4096) + 1j * RNG.normal(size=4096)).astype(np.complex64)
  got = portable_math.cmul(a, b)
  assert got.dtype == np.complex64
  np.testing.assert_allclose(got, a.astype(np.complex128) * b, rtol=2e-7, atol=1e-7)
  assert got.tobytes() == portable_math.cmul(b, a).tobytes()
  # Each part rounded once, from float32 products: a hand calculation.
  ar, ai, br, bi = (np.float32(v) for v in (1.1, -2.3, 0.7, 5.9))
  one = portable_math.cmul(np.complex64(complex(ar, ai)), np.complex64(complex(br, bi)))
  assert one.real == ar * br - ai * bi and one.imag == ar * bi + ai * br
  out = np.empty(4096, np.complex64)
  assert portable_math.cmul(a, b[None, :1], out=out) is out  # broadcasting, written into `out`


def test_cis_windows_and_convolution_match_numpy_and_scipy():
  theta = RNG.uniform(-50, 50, 1000)
  np.testing.assert_allclose(portable_math.cis(theta), np.exp(1j * theta), rtol=0, atol=1e-15)
  assert portable_math.cis(theta, np.complex64).dtype == np.complex64
  np.testing.assert_allclose(portable_math.cexp(theta + 0.5j), np.exp(theta + 0.5j), rtol=1e-14)
  np.testing.assert_allclose(portable_math.bessel_i0(np.linspace(0, 30, 301)), np.i0(np.linspace(0, 30, 301)),
                             rtol=1e-14)
  np.testing.assert_allclose(portable_math.kaiser(65, 6.0), np.kaiser(65, 6.0), rtol=1e-14, atol=1e-16)
  for n, sym in ((256, True), (1024, False), (7, True)):
    np.testing.assert_allclose(portable_math.hann(n, sym), scipy.signal.windows.hann(n, sym=sym), atol=1e-15)
  t = np.linspace(-4, 4, 81)
  np.testing.assert_allclose(portable_math.sinc(t), np.sinc(t), atol=1e-15)
  a, v = RNG.normal(size=100), RNG.normal(size=7)
  for mode in ('full', 'same', 'valid'):
    np.testing.assert_allclose(portable_math.convolve(a, v, mode), np.convolve(a, v, mode), rtol=1e-12, atol=1e-14)
  with pytest.raises(ValueError, match="mode must be 'full', 'same' or 'valid'"):
    portable_math.convolve(a, v, 'circular')


_DIGESTS = """
import hashlib, json
import numpy as np
from specsense_jax import capture, frames, spectrogram, synthetic
from specsense_jax.signals import scene
digest = lambda *arrays: hashlib.sha256(b''.join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()
out = {}
# Float stages too, not only the uint8 image (which a last-bit change flips only now and then).
for seed in (3, 5):
  composed = scene.compose_frame(seed, scene.SceneConfig.realistic(occupancy_cells=True))
  receiver = capture.CaptureConfig().receiver.draw(np.random.default_rng(capture.receiver_seed(seed)))
  chain = capture.SyntheticCapture(composed, receiver).chain
  out[f'realistic{seed}'] = digest(composed.render(np.arange(0, composed.num_samples, 7)),
                                   chain.analog_capture(np.arange(4096)[None, :] + 1000))
  ex = capture.make_example(seed, scene.SceneConfig.realistic(), synthetic.ImageConfig(scaling='floor'))
  out[f'example{seed}'] = digest(ex['image'], ex['mask'])
iq = scene.compose_frame(1, scene.SceneConfig()).render()
out['imaging'] = digest(spectrogram.spectrogram_db(iq, 61.44e6, mode='matlab'),
                        spectrogram.spectrogram_db(iq, 61.44e6, mode='average'),
                        np.float64(frames.noise_floor_density(iq, 61.44e6)))
ex = synthetic.make_example(1)
out['parity1'] = digest(ex['image'], ex['mask'])
from specsense_jax.signals import radar, scene_bursty  # a pulse's spread decides radar labels' columns
wave = radar.radar_waveform(seed=4, kind='barker', scan=False)
a = wave.annotations[0]
spread = scene_bursty.pulse_spread(wave.iq[a['sample_start']:a['sample_start'] + a['sample_count']], 61.44e6, 1e6)
out['spread'] = digest(np.asarray(spread['offset_hz']), np.asarray(spread['level_db']))
print(json.dumps(out))
"""


def _simd_features() -> str:
  try:
    from numpy._core import _multiarray_umath as umath  # numpy 2
  except ImportError:  # numpy 1.26
    from numpy.core import _multiarray_umath as umath
  return ' '.join(f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f))


def _digests(env_extra):
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', **env_extra}
  run = subprocess.run([sys.executable, '-c', _DIGESTS], capture_output=True, text=True, env=env, timeout=600,
                       check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  return json.loads(run.stdout.strip().splitlines()[-1])


def test_examples_are_the_same_bits_without_simd_kernels():
  # numpy's dispatched kernels (AVX2/FMA, AVX-512) and glibc's FMA variants of libm switched off: what a CPU
  # without them computes. The realistic and parity examples must not change by a bit.
  plain = {'NPY_DISABLE_CPU_FEATURES': _simd_features(), 'OPENBLAS_CORETYPE': 'Prescott',
           'GLIBC_TUNABLES': 'glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4,-AVX512F'}
  assert _digests({}) == _digests(plain)
