"""Elementary functions whose results are the same bits on every machine.

numpy picks SIMD kernels for exp, log, sin, cos and the complex product by the CPU it runs on (AVX2 with FMA,
AVX-512, or none), and glibc's libm does the same for Python's scalar `math` functions and `**`; each kernel rounds
differently in the last bit. A frame's samples pass through an ADC and a colormap, so one such bit flips a few
pixels, and a dataset made on two machines would differ. These functions use only IEEE-754 operations that are
correctly rounded everywhere (+, -, *, /, sqrt, rint, frexp, ldexp), evaluated in float64 in a fixed order:
same inputs, same bits, whatever the CPU, with errors of a few units in the last place (tested against numpy).

Everything that decides the bytes of a dataset example (scene draws, fading, receiver, imaging) uses them;
`tests/test_portable_math.py` checks that examples are identical with numpy's and glibc's SIMD kernels disabled.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.signal

# Cody-Waite splits of pi/2 and ln 2 (fdlibm's constants): k * HI is exact for the k reached here.
_PIO2 = (1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21,
         8.47842766036889956997e-32)
_TWO_OVER_PI = 6.36619772367581382433e-01
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_INV_LN10 = 4.34294481903251816668e-01
_LN10 = 2.30258509299404568402e+00
_EXP_MAX, _EXP_MIN = 709.782712893384, -745.1332191019412
# Taylor coefficients 1/n!: on the reduced ranges (|r| <= pi/4, |r| <= ln2/2) the first omitted term is
# below 1e-19 relative.
_INV_FACTORIAL = [1.0 / math.factorial(n) for n in range(20)]


def _as_float64(x) -> tuple[np.ndarray, np.dtype]:
  x = np.asarray(x)
  out_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
  return x.astype(np.float64), out_dtype


def _finish(y: np.ndarray, dtype: np.dtype, scalar: bool):
  y = y.astype(dtype, copy=False)
  return dtype.type(y) if scalar else y


def _horner(z: np.ndarray, coefficients) -> np.ndarray:
  acc = np.full_like(z, coefficients[-1])
  for c in reversed(coefficients[:-1]):
    acc *= z
    acc += c
  return acc


def _flat(function):
  """Runs `function` on a flat float64 copy of its argument and gives each output the argument's shape."""
  @functools.wraps(function)
  def wrapped(x):
    x = np.asarray(x, np.float64)
    with np.errstate(all='ignore'):  # inf and nan arguments are handled explicitly
      out = function(x.reshape(-1))
    return tuple(o.reshape(x.shape) for o in out) if isinstance(out, tuple) else out.reshape(x.shape)
  return wrapped


@_flat
def _sincos64(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  k = np.rint(x * _TWO_OVER_PI)
  r = x - k * _PIO2[0]
  for part in _PIO2[1:]:
    r -= k * part
  r2 = r * r
  s = r * _horner(r2, [(-1) ** n * _INV_FACTORIAL[2 * n + 1] for n in range(9)])
  c = _horner(r2, [(-1) ** n * _INV_FACTORIAL[2 * n] for n in range(10)])
  quadrant = np.mod(np.nan_to_num(k, nan=0.0, posinf=0.0, neginf=0.0), 4).astype(np.int8)
  odd = (quadrant & 1).astype(bool)
  sin = np.where(odd, c, s)  # quadrants 0..3: (s, c), (c, -s), (-s, -c), (-c, s)
  cos = np.where(odd, s, c)
  np.negative(sin, out=sin, where=quadrant >= 2)
  np.negative(cos, out=cos, where=(quadrant == 1) | (quadrant == 2))
  bad = ~np.isfinite(x)
  sin[bad] = np.nan
  cos[bad] = np.nan
  return sin, cos


def sincos(x) -> tuple[np.ndarray, np.ndarray]:
  """(sin(x), cos(x)) in float64, elementwise, from one argument reduction."""
  return _sincos64(np.asarray(x, np.float64))


@functools.lru_cache(maxsize=1)
def _turn_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  coarse = _sincos64(2 * np.pi * np.arange(65536) / 65536)
  fine = _sincos64(2 * np.pi * np.arange(65536) / 2.0**32)
  return coarse + fine


def sincos_turns32(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(sin, cos) of 2 pi k / 2^32 for uint32-valued k, float64, from two 65536-entry tables
  (sin(a + b) = sin a cos b + cos a sin b): a random phase at a fraction of `sincos`'s cost."""
  k = np.asarray(k, np.uint64)
  hi, lo = (k >> np.uint64(16)).astype(np.intp), (k & np.uint64(0xFFFF)).astype(np.intp)
  sin_hi, cos_hi, sin_lo, cos_lo = _turn_tables()
  a_sin, a_cos, b_sin, b_cos = sin_hi[hi], cos_hi[hi], sin_lo[lo], cos_lo[lo]
  sin = a_sin * b_cos
  sin += a_cos * b_sin
  cos = a_cos * b_cos
  cos -= a_sin * b_sin
  return sin, cos


def sin(x):
  """sin(x), elementwise; float32 in gives float32 out, anything else float64."""
  x64, dtype = _as_float64(x)
  return _finish(_sincos64(x64)[0], dtype, np.ndim(x) == 0)


def cos(x):
  """cos(x), elementwise; float32 in gives float32 out, anything else float64."""
  x64, dtype = _as_float64(x)
  return _finish(_sincos64(x64)[1], dtype, np.ndim(x) == 0)


def cis(theta, dtype=np.complex128):
  """exp(j theta) = cos(theta) + j sin(theta) for real theta, as `dtype` (complex64 or complex128)."""
  s, c = _sincos64(np.asarray(theta, np.float64))
  out = np.empty(s.shape, dtype)
  out.real = c
  out.imag = s
  return out[()] if np.ndim(theta) == 0 else out


@_flat
def _exp64(x: np.ndarray) -> np.ndarray:
  finite = bool(np.all((x >= -700.0) & (x <= 700.0)))  # the usual case: one test instead of three masks
  clipped = x if finite else np.clip(np.nan_to_num(x, nan=0.0), -800.0, 800.0)
  k = np.rint(clipped * _INV_LN2)
  r = (clipped - k * _LN2_HI) - k * _LN2_LO
  y = np.ldexp(_horner(r, _INV_FACTORIAL[:15]), k.astype(np.int32))
  if not finite:
    y[x > _EXP_MAX] = np.inf
    y[x < _EXP_MIN] = 0.0
    y[np.isnan(x)] = np.nan
  return y


def exp(x):
  """exp(x) for real x, elementwise; float32 in gives float32 out, anything else float64."""
  x64, dtype = _as_float64(x)
  return _finish(_exp64(x64), dtype, np.ndim(x) == 0)


def cexp(z, dtype=np.complex128):
  """exp(z) for complex (or real) z, as `dtype`."""
  z = np.asarray(z)
  out = cis(z.imag, dtype)
  out *= _exp64(np.asarray(z.real, np.float64))  # a real factor: exact per component
  return out


def _log_series(m: np.ndarray) -> np.ndarray:
  """log(m) for m in [0.7, 1.5) as 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.2 (m - 1 exact): within a unit or
  two in the last place."""
  f = m - 1.0
  s = f / (2.0 + f)
  return 2.0 * s * _horner(s * s, [1.0 / (2 * n + 1) for n in range(14)])


# Cells of width 1/256 centred on c = 1 + i/256 cover [1/sqrt(2), sqrt(2)); log c by the series, log(1) = 0 exactly.
_LOG_CELLS = np.arange(-76, 108)


@functools.lru_cache(maxsize=1)
def _log_table() -> tuple[np.ndarray, np.ndarray]:
  centres = 1.0 + _LOG_CELLS / 256.0  # exact in float64
  return centres, _log_series(centres)


@_flat
def _log64(x: np.ndarray) -> np.ndarray:
  # x = m 2^e with m in [1/sqrt(2), sqrt(2)): no cancellation between e ln 2 and log m. m = c (1 + t) for the
  # nearest cell centre c, |t| < 0.0028: log c from the table and log1p(t) from seven terms of its series (the
  # eighth is below 1e-21).
  m, e = np.frexp(x)  # m in [0.5, 1)
  low = m < 0.7071067811865476
  m = np.where(low, m * 2.0, m)
  e = e - low
  valid = bool(np.all(x > 0) and np.all(x < np.inf))  # the usual case: one test instead of four masks
  cell = np.rint((m - 1.0) * 256.0)
  if not valid:
    cell = np.nan_to_num(np.clip(cell, _LOG_CELLS[0], _LOG_CELLS[-1]), nan=0.0)
  cell = cell.astype(np.intp) - _LOG_CELLS[0]
  centres, log_centres = _log_table()
  c = centres[cell]
  t = (m - c) / c  # m - c exact: within a factor 2 of each other
  log1p = t * _horner(t, [1.0, -1 / 2, 1 / 3, -1 / 4, 1 / 5, -1 / 6, 1 / 7])
  e = e.astype(np.float64)
  y = e * _LN2_HI + (e * _LN2_LO + (log_centres[cell] + log1p))
  if not valid:
    y[x == 0] = -np.inf
    y[x < 0] = np.nan
    y[np.isposinf(x)] = np.inf
    y[np.isnan(x)] = np.nan
  return y


def log(x):
  """Natural logarithm, elementwise (-inf at 0, nan below); float32 in gives float32 out."""
  x64, dtype = _as_float64(x)
  return _finish(_log64(x64), dtype, np.ndim(x) == 0)


def log10(x):
  """Base-10 logarithm, elementwise; float32 in gives float32 out."""
  x64, dtype = _as_float64(x)
  return _finish(_log64(x64) * _INV_LN10, dtype, np.ndim(x) == 0)


def db_to_power(db):
  """10 ** (db / 10), elementwise, float64 (a Python float for a scalar)."""
  y = _exp64(np.asarray(db, np.float64) * (_LN10 / 10))
  return float(y) if np.ndim(db) == 0 else y


def db_to_amplitude(db):
  """10 ** (db / 20), elementwise, float64 (a Python float for a scalar)."""
  y = _exp64(np.asarray(db, np.float64) * (_LN10 / 20))
  return float(y) if np.ndim(db) == 0 else y


def power_to_db(p):
  """10 log10(p), elementwise, float64 (a Python float for a scalar)."""
  y = _log64(np.asarray(p, np.float64)) * (10 * _INV_LN10)
  return float(y) if np.ndim(p) == 0 else y


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
  """A draw uniform in log between low and high (> 0): exp(U[log low, log high))."""
  return float(exp(rng.uniform(float(log(float(low))), float(log(float(high))))))


def cmul(a, b, out: np.ndarray | None = None) -> np.ndarray:
  """The complex product a * b as (ar br - ai bi) + j (ar bi + ai br), each operation rounded once.

  numpy's complex product fuses multiply-adds on some CPUs; this never does. Shapes broadcast; the result has
  the promoted complex dtype of a and b (into `out` when given).
  """
  a, b = np.asarray(a), np.asarray(b)
  dtype = np.result_type(a, b, np.complex64)
  real = np.float32 if dtype == np.complex64 else np.float64
  ar, ai = np.real(a).astype(real, copy=False), np.imag(a).astype(real, copy=False)
  br, bi = np.real(b).astype(real, copy=False), np.imag(b).astype(real, copy=False)
  shape = np.broadcast_shapes(a.shape, b.shape)
  if out is None:
    out = np.empty(shape, dtype)
  re = np.multiply(ar, br)
  re -= np.multiply(ai, bi)
  im = np.multiply(ar, bi)
  im += np.multiply(ai, br)
  out.real = re
  out.imag = im
  return out


def abs2(z) -> np.ndarray:
  """|z|^2 = re^2 + im^2 (float32 for complex64, float64 otherwise)."""
  z = np.asarray(z)
  if not np.iscomplexobj(z):
    return z * z
  re, im = z.real, z.imag
  return re * re + im * im


def sinc(x) -> np.ndarray:
  """sin(pi x) / (pi x), 1 at 0 (np.sinc), float64."""
  x = np.asarray(x, np.float64)
  safe = np.where(x == 0, 1.0, x)
  return np.where(x == 0, 1.0, _sincos64(np.pi * safe)[0] / (np.pi * safe))


def hann(length: int, sym: bool = True) -> np.ndarray:
  """The Hann window (scipy.signal.windows.hann): 0.5 - 0.5 cos(2 pi n / (length - 1)), periodic (length
  denominator) when not `sym`."""
  if length < 2:
    return np.ones(max(length, 0))
  return 0.5 - 0.5 * _sincos64(2 * np.pi * np.arange(length) / (length - 1 if sym else length))[1]


def kaiser(num_taps: int, beta: float) -> np.ndarray:
  """The Kaiser window (np.kaiser's definition), with I0 summed as its power series."""
  n = np.arange(num_taps, dtype=np.float64)
  half = (num_taps - 1) / 2.0
  ratio = np.zeros(num_taps) if num_taps == 1 else (n - half) / half
  return bessel_i0(beta * np.sqrt(np.clip(1.0 - ratio * ratio, 0.0, None))) / bessel_i0(np.float64(beta))


def bessel_i0(x) -> np.ndarray:
  """The modified Bessel function I0 (np.i0) for |x| <= 40, as its power series sum_k ((x/2)^2)^k / (k!)^2
  (terms fall below 1e-17 of the sum within 80 terms there)."""
  q = np.asarray(x, np.float64) ** 2 / 4.0
  term = np.ones_like(q)
  total = np.ones_like(q)
  for k in range(1, 80):
    term = term * q / (k * k)
    total = total + term
  return total


def convolve(a, v, mode: str = 'full') -> np.ndarray:
  """np.convolve(a, v, mode) of 1-D arrays without BLAS (np.convolve's dot product is CPU-dependent): a direct
  sum (scipy's upfirdn), cut to 'full', 'same' (len(a) samples centred as np.convolve) or 'valid'."""
  if mode not in ('full', 'same', 'valid'):
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
  a, v = np.asarray(a), np.asarray(v)
  if len(v) > len(a):
    a, v = v, a
  full = scipy.signal.upfirdn(v, a)
  if mode == 'full':
    return full
  if mode == 'same':
    start = (len(v) - 1) // 2
    return full[start:start + len(a)]
  return full[len(v) - 1:len(a)]
