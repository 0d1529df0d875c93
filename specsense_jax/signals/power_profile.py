"""Power profiles of IQ recordings: the per-subframe (or per-slot) power envelope and the per-OFDM-symbol power
folded onto one subframe, time alignment by correlation, and LTE subframe timing from the PSS.

Used to compare synthetic cells with over-the-air captures. Two views of a profile are compared:

* linear power: Pearson's r is invariant to an additive noise floor and a gain, but a few strong values (a
  PBCH subframe, a PDSCH burst) carry most of the variance and decide r on their own;
* dB after flooring at the noise floor: every on/off step weighs the same, which is what separates TDD
  patterns and OFDM symbol types. Without the floor, near-empty values (exactly zero in a clean synthetic
  signal, -inf dB) and noise fluctuations would dominate instead. The log is not affine, so the SNR shapes a
  dB profile: a synthetic signal is compared with the capture's noise level (`compare_to_capture`).

Both are reported; dB after flooring is the honest test of an on/off pattern (on the band-39 capture a few
SIB bursts pull the linear envelope correlation down to 0.92 while the dB one stays at 0.98).
"""

from __future__ import annotations

import fractions
from typing import Sequence

import numpy as np
import scipy.fft
import scipy.signal

from specsense_jax.signals import lte_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

SUBFRAME_S = 1e-3
FRAME_SUBFRAMES = 10
# Where the LTE PSS sits, normal CP: (subframes, symbol of the subframe). TS 36.211 §6.11.1.2: the last symbol
# of slots 0 and 10 for frame structure type 1 (FDD), the third symbol of subframes 1 and 6 for type 2 (TDD).
PSS_POSITIONS = {'fdd': ((0, 5), 6), 'tdd': lte_tdd.PSS_POSITION}
# The 62 PSS values sit on the 72 centre subcarriers less 5 at each edge (TS 36.211 §6.11.1.2).
_SYNC_CENTRE = slice(5, 67)
# A percentile of the per-symbol powers that falls among the noise-only symbols (`noise_power`): an idle LTE
# or a TDD signal leaves far more than this share of its OFDM symbols empty.
NOISE_PERCENTILE = 10


def _period_samples(sample_rate: float, period_s: float) -> int:
  """Samples of one period, or ValueError unless the period holds a whole number of samples."""
  if not sample_rate > 0 or not period_s > 0:
    raise ValueError(f'sample_rate and period_s must be positive, got {sample_rate!r} and {period_s!r}')
  n = sample_rate * period_s
  if abs(n - round(n)) > 1e-6 * n:
    raise ValueError(f'period_s={period_s!r} holds {n:g} samples at {sample_rate:g} Hz; it must be a whole '
                     'number (resample first)')
  return int(round(n))


def _check_start(start: int, length: int, need: int) -> int:
  if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start:
    raise ValueError(f'start must be a non-negative int, got {start!r}')
  if length - start < need:
    raise ValueError(f'start={start} leaves {length - start} samples, less than one period ({need})')
  return int(start)


def subframe_envelope(iq: np.ndarray, sample_rate: float, *, period_s: float = SUBFRAME_S, start: int = 0
                      ) -> np.ndarray:
  """Mean power |x|^2 of each whole period (an LTE subframe by default; pass a slot length for NR slots).

  Args:
    iq: complex samples.
    sample_rate: samples per second.
    period_s: period length; must hold a whole number of samples.
    start: first sample of the first period (a subframe boundary, see `frame_timing`).

  Returns:
    (num_periods,) float64, one value per whole period from `start`.
  """
  n = _period_samples(sample_rate, period_s)
  iq = np.asarray(iq)
  start = _check_start(start, len(iq), n)
  count = (len(iq) - start) // n
  power = np.abs(iq[start:start + count * n].astype(np.complex128)) ** 2
  return power.reshape(count, n).mean(axis=1)


def symbol_powers(iq: np.ndarray, numerology: ofdm.Numerology, *, start: int) -> np.ndarray:
  """(num_subframes, symbols_per_subframe) mean power of each OFDM symbol's useful part (CP skipped) in every
  whole subframe from `start`, the first sample of a subframe (its first CP)."""
  iq = np.asarray(iq)
  per_subframe = numerology.samples_per_subframe
  start = _check_start(start, len(iq), per_subframe)
  count = (len(iq) - start) // per_subframe
  s = numerology.symbols_per_subframe
  useful = numerology.symbol_starts(s) + numerology.cp_of(s)
  first = start + per_subframe * np.arange(count)[:, None] + useful[None, :]
  cumulative = np.concatenate([[0.0], np.cumsum(np.abs(iq.astype(np.complex128)) ** 2)])
  return (cumulative[first + numerology.fft_size] - cumulative[first]) / numerology.fft_size


def folded_symbol_power(iq: np.ndarray, sample_rate: float, numerology: ofdm.Numerology, *, start: int,
                        subframes: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
  """Mean power of each OFDM symbol's useful part over the chosen subframes, folded onto one subframe.

  Args:
    iq: complex samples.
    sample_rate: samples per second; must equal `numerology.sample_rate` (resample first otherwise).
    numerology: the OFDM layout (`ofdm.lte_numerology` or `ofdm.nr_numerology` at `sample_rate`).
    start: first sample of subframe 0 of the count (a subframe boundary).
    subframes: indices (from `start`) of the subframes to average, e.g. the downlink ones; default all
      whole subframes.

  Returns:
    (symbols_per_subframe,) float64.
  """
  if abs(float(sample_rate) - numerology.sample_rate) > 1e-6 * numerology.sample_rate:
    raise ValueError(f'sample_rate {sample_rate:g} differs from the numerology\'s {numerology.sample_rate:g}; '
                     'resample the samples or build the numerology at their rate')
  powers = symbol_powers(iq, numerology, start=start)
  if subframes is None:
    return powers.mean(axis=0)
  chosen = np.asarray(subframes, np.int64).reshape(-1)
  if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= len(powers):
    raise ValueError(f'subframes must be a non-empty set of indices in [0, {len(powers) - 1}] (whole subframes '
                     f'from start={start}), got {subframes!r}')
  return powers[chosen].mean(axis=0)


def floored_db(profile: np.ndarray, floor: float) -> np.ndarray:
  """10·log10(max(profile, floor)): a power profile in dB with values below the noise floor clipped to it."""
  if not floor > 0:
    raise ValueError(f'floor must be a positive power, got {floor!r}')
  return 10 * np.log10(np.maximum(np.asarray(profile, np.float64), floor))


def noise_power(iq: np.ndarray, numerology: ofdm.Numerology, *, start: int = 0,
                percentile: float = NOISE_PERCENTILE) -> float:
  """Noise power per sample, from the OFDM symbols (`symbol_powers`) that hold only noise.

  Empty symbols (uplink, guard, or symbols without reference signals in an idle cell) form a tight cluster
  at the bottom: a low percentile of all symbol powers falls inside it, and the cluster is every symbol up
  to 3 standard deviations of a noise-only symbol's power (1/sqrt(FFT size), relative) above that
  percentile. Its mean is the estimate (a bare percentile would sit below the mean, by 0.5 dB at FFT 128).
  A fully loaded FDD cell has no empty symbol, and the estimate is then an upper bound.
  """
  powers = symbol_powers(iq, numerology, start=start).reshape(-1)
  low = np.percentile(powers, percentile)
  return float(np.mean(powers[powers <= low * (1 + 3 / np.sqrt(numerology.fft_size))]))


def estimate_snr_db(iq: np.ndarray, numerology: ofdm.Numerology, *, start: int = 0) -> float:
  """Signal-to-noise ratio (dB) over the whole signal: (mean power - noise power) / noise power, with the noise
  power of `noise_power`; -inf dB where the signal holds only noise."""
  noise = noise_power(iq, numerology, start=start)
  if not noise > 0:
    raise ValueError('iq has no noise (empty OFDM symbols are exactly zero): its SNR is infinite')
  signal = float(np.mean(np.abs(np.asarray(iq)[start:].astype(np.complex128)) ** 2)) - noise
  return float(10 * np.log10(signal / noise)) if signal > 0 else -np.inf


def _standardized(x: np.ndarray, name: str) -> np.ndarray:
  x = np.asarray(x, np.float64).reshape(-1)
  if len(x) < 2 or not np.all(np.isfinite(x)) or np.ptp(x) == 0:
    raise ValueError(f'{name} must hold at least 2 finite values that are not all equal (floor dB profiles), '
                     f'got {len(x)} values')
  return (x - x.mean()) / x.std()


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
  a, b = a - a.mean(), b - b.mean()
  norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
  return float(np.sum(a * b) / norm) if norm > 0 else float('nan')


def _overlap(reference: np.ndarray, other: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
  """Non-circular pairing other[j] <-> reference[j + lag]."""
  lo, hi = max(0, lag), min(len(reference), len(other) + lag)
  return reference[lo:hi], other[lo - lag:hi - lag]


def align(reference: np.ndarray, other: np.ndarray, *, circular: bool = True, min_overlap: float = 0.5) -> int:
  """The lag that best aligns `other` with `reference` by maximum Pearson correlation.

  Args:
    reference: profile.
    other: profile; with circular=True of the same length as `reference`.
    circular: True: `np.roll(other, lag)` matches `reference`, lag in [0, len); False: other[j] pairs with
      reference[j + lag], over overlaps of at least `min_overlap` times the shorter profile.
    min_overlap: non-circular only: the least overlap considered, as a share of the shorter profile.

  Returns:
    The lag (int); ties go to the smallest.
  """
  ref, oth = _standardized(reference, 'reference'), _standardized(other, 'other')
  if circular:
    if len(ref) != len(oth):
      raise ValueError(f'circular alignment needs profiles of equal length, got {len(ref)} and {len(oth)}')
    # sum_i ref[i]·oth[i - lag] for every lag at once; the roll keeps mean and variance, so this is r·n.
    score = scipy.fft.ifft(scipy.fft.fft(ref) * np.conj(scipy.fft.fft(oth))).real
    return int(np.argmax(np.round(score, 9)))
  if not 0 < min_overlap <= 1:
    raise ValueError(f'min_overlap must be in (0, 1], got {min_overlap!r}')
  least = max(2, int(np.ceil(min_overlap * min(len(ref), len(oth)))))
  best, best_lag = -np.inf, None
  for lag in range(least - len(oth), len(ref) - least + 1):
    r = _pearson(*_overlap(np.asarray(reference, np.float64), np.asarray(other, np.float64), lag))
    if r > best + 1e-12:
      best, best_lag = r, lag
  if best_lag is None:
    raise ValueError('no lag leaves a usable overlap; lower min_overlap')
  return best_lag


def profile_correlation(a: np.ndarray, b: np.ndarray, *, lag: int | None = None, circular: bool = True) -> float:
  """Pearson correlation of profile `a` with profile `b` after alignment (`align(a, b)` unless `lag` given)."""
  _standardized(a, 'a')
  _standardized(b, 'b')
  lag = align(a, b, circular=circular) if lag is None else int(lag)
  a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
  if circular:
    if len(a) != len(b):
      raise ValueError(f'circular correlation needs profiles of equal length, got {len(a)} and {len(b)}')
    return _pearson(a, np.roll(b, lag))
  return _pearson(*_overlap(a, b, lag))


# --- LTE half-frame timing from the PSS ---------------------------------------------------------------------

def _pss_symbol(n_id2: int, numerology: ofdm.Numerology) -> np.ndarray:
  """Useful part of the OFDM symbol of a PSS alone: 62 values on the centre subcarriers, DC skipped."""
  spectrum = np.zeros(numerology.fft_size, np.complex128)
  spectrum[ofdm.subcarrier_bins(72, numerology)[_SYNC_CENTRE]] = sequences.lte_pss(n_id2)
  return np.fft.ifft(spectrum)


def frame_timing(iq: np.ndarray, sample_rate: float, *, duplex: str = 'fdd') -> dict:
  """Subframe and half-frame timing of the strongest LTE PSS in a recording (normal CP).

  The PSS correlation of each root (N_ID2 = 0, 1, 2) is summed over all 5 ms half frames, which finds the
  timing even at low SNR. The PSS repeats every half frame, so subframe 0 and subframe 5 look alike: the
  subframe number is known modulo 5 (the SSS, or the PBCH in `compare_to_capture`'s envelope, tells them
  apart). With several cells in view the strongest PSS need not come from the strongest or earliest cell.

  Args:
    iq: complex samples, the carrier centred at 0 Hz (a frequency offset well below 7.5 kHz), at least a half
      frame and a symbol long.
    sample_rate: samples per second; the LTE numerology must be integral there (`ofdm.lte_numerology`).
    duplex: 'fdd' (frame structure type 1) or 'tdd' (type 2); sets the PSS position.

  Returns:
    {'start': first subframe boundary, in [0, samples per subframe), 'half_frame_start': first boundary of a
     subframe 0 or 5, in [0, 5 ms), 'subframe_mod_5': number modulo 5 of the subframe starting at `start`,
     'pss_start': first useful sample of a PSS symbol, in [0, 5 ms), 'n_id2', 'pss_metric': mean normalized
     PSS correlation per half frame (0..1; the PSS is a small part of a wideband symbol, so well below 1)}.
  """
  if duplex not in PSS_POSITIONS:
    raise ValueError(f'duplex must be one of {tuple(PSS_POSITIONS)}, got {duplex!r}')
  pss_subframes, pss_symbol = PSS_POSITIONS[duplex]
  numerology = ofdm.lte_numerology(sample_rate)
  n, per_subframe = numerology.fft_size, numerology.samples_per_subframe
  half = per_subframe * FRAME_SUBFRAMES // 2
  iq = np.asarray(iq, np.complex64)
  if len(iq) < half + n:
    raise ValueError(f'iq must hold at least a half frame and a symbol ({half + n} samples), got {len(iq)}')
  cumulative = np.concatenate([[0.0], np.cumsum(np.abs(iq.astype(np.complex128)) ** 2)])
  window_energy = cumulative[n:] - cumulative[:-n]  # energy of every n-sample window
  halves = len(window_energy) // half
  best = None
  for n_id2 in range(3):
    replica = _pss_symbol(n_id2, numerology)
    corr = np.abs(scipy.signal.fftconvolve(iq, np.conj(replica[::-1]), mode='valid')) ** 2
    metric = corr / (np.maximum(window_energy, 1e-30) * np.sum(np.abs(replica) ** 2))
    folded = metric[:halves * half].reshape(halves, half).mean(axis=0)
    position = int(np.argmax(folded))
    if best is None or folded[position] > best[0]:
      best = (float(folded[position]), n_id2, position)
  pss_metric, n_id2, pss_start = best
  s = numerology.symbols_per_subframe
  pss_offset = int(pss_subframes[0] * per_subframe + numerology.symbol_starts(s)[pss_symbol]
                   + numerology.cp_lengths[pss_symbol])  # half-frame start to the PSS useful part
  half_frame_start = (pss_start - pss_offset) % half
  start = half_frame_start % per_subframe
  return {'start': start, 'half_frame_start': half_frame_start,
          'subframe_mod_5': int(-(half_frame_start // per_subframe) % (FRAME_SUBFRAMES // 2)),
          'pss_start': pss_start, 'n_id2': n_id2, 'pss_metric': pss_metric}


# --- Capture against synthetic -----------------------------------------------------------------------------

def resample(iq: np.ndarray, sample_rate: float, target_rate: float) -> np.ndarray:
  """`iq` at `target_rate` (polyphase resampling by the exact rational ratio); unchanged if rates agree."""
  ratio = fractions.Fraction(target_rate).limit_denominator(10**6) / fractions.Fraction(
      sample_rate).limit_denominator(10**6)
  if ratio == 1:
    return np.asarray(iq)
  return scipy.signal.resample_poly(np.asarray(iq), ratio.numerator, ratio.denominator).astype(np.complex64)


def fine_timing(iq: np.ndarray, reference_iq: np.ndarray, sample_rate: float, *, period_s: float = SUBFRAME_S
                ) -> int:
  """Sample offset in [0, period) of the period boundaries of `iq`, taking those of `reference_iq` at 0.

  Both signals' power is folded onto one period (mean over the whole periods) and circularly aligned by
  maximum correlation: a timing that needs no synchronization signal, for any standard. With several cells
  in view it is their power-weighted timing.

  Args:
    iq: complex samples (a capture).
    reference_iq: complex samples whose period boundaries fall on multiples of the period (a synthetic cell).
    sample_rate: samples per second of both.
    period_s: the period (a subframe; a slot for NR slot envelopes).

  Returns:
    The first period boundary of `iq`, in samples.
  """
  n = _period_samples(sample_rate, period_s)
  folds = []
  for name, x in (('iq', iq), ('reference_iq', reference_iq)):
    x = np.asarray(x)
    if len(x) < n:
      raise ValueError(f'{name} must hold at least one period ({n} samples), got {len(x)}')
    count = len(x) // n
    folds.append((np.abs(x[:count * n].astype(np.complex128)) ** 2).reshape(count, n).mean(axis=0))
  return align(folds[0], folds[1])


def compare_to_capture(capture_iq: np.ndarray, capture_rate: float, synthetic_iq: np.ndarray,
                       synthetic_rate: float, numerology: ofdm.Numerology, downlink_subframes: Sequence[int], *,
                       capture_start: int | None = None, capture_first_subframe: int | None = None,
                       synthetic_noise_power: float | None = None) -> dict:
  """Per-subframe power envelope and folded per-symbol power of a capture against a synthetic cell.

  Both signals are brought to `numerology.sample_rate`; the synthetic one starts at a frame start (subframe 0
  at sample 0). The envelopes, over the whole radio frames both signals hold, are circularly aligned; the
  folded symbol powers are compared at the capture's timing (their own best lag is reported as a check).
  Profiles are floored at the noise power; a synthetic signal with less noise than the capture's SNR implies
  (a clean one) first gets the missing noise power added to its profiles (the expected power of signal plus
  noise), since in dB signal plus noise and signal floored at the noise differ near the floor.

  Args:
    capture_iq: recorded samples.
    capture_rate: their sample rate.
    synthetic_iq: synthetic samples.
    synthetic_rate: their sample rate.
    numerology: OFDM layout at the analysis rate.
    downlink_subframes: subframe numbers (0..9) of a radio frame whose symbols are folded.
    capture_start: first subframe boundary of the capture (at the analysis rate); None: `fine_timing`
      against the synthetic signal.
    capture_first_subframe: number (0..9) of the subframe starting at `capture_start`; None: from the
      envelope alignment (a 5 ms-periodic pattern then leaves subframes 0 and 5 alike).
    synthetic_noise_power: noise power per sample already in `synthetic_iq` (0 for a clean signal); None:
      estimated by `noise_power`, which needs empty OFDM symbols (not so in a fully loaded FDD cell).

  Returns:
    {'envelope_db': (capture, synthetic) floored dB envelopes, 'envelope_linear': the same in linear power,
     'envelope_lag' (subframes: np.roll(synthetic, lag) matches the capture), 'envelope_r_db',
     'envelope_r_linear', 'symbols_db' / 'symbols_linear': (capture, synthetic) folded per-symbol powers,
     'symbols_lag' (0 when the timing holds), 'symbols_r_db', 'symbols_r_linear', 'capture_start',
     'capture_first_subframe', 'noise_power': (capture, synthetic after the top-up), 'snr_db' of the capture}.
  """
  downlink = np.asarray(sorted(set(int(s) for s in downlink_subframes)), np.int64)
  if downlink.size == 0 or downlink.min() < 0 or downlink.max() >= FRAME_SUBFRAMES:
    raise ValueError(f'downlink_subframes must be subframe numbers in [0, 9], got {downlink_subframes!r}')
  if synthetic_noise_power is not None and not synthetic_noise_power >= 0:
    raise ValueError(f'synthetic_noise_power must be None or a power >= 0, got {synthetic_noise_power!r}')
  fs = numerology.sample_rate
  capture = resample(capture_iq, capture_rate, fs)
  synthetic = resample(synthetic_iq, synthetic_rate, fs)
  period_s = numerology.samples_per_subframe / fs
  if capture_start is None:
    capture_start = fine_timing(capture, synthetic, fs, period_s=period_s)
  env_c = subframe_envelope(capture, fs, period_s=period_s, start=capture_start)
  env_s = subframe_envelope(synthetic, fs, period_s=period_s)
  count = min(len(env_c), len(env_s))
  if count < 2:
    raise ValueError(f'capture_iq and synthetic_iq must share at least 2 whole subframes, got {count}')
  if count >= FRAME_SUBFRAMES:  # whole radio frames: every TDD pattern repeats, so circular alignment holds
    count -= count % FRAME_SUBFRAMES
  env_c, env_s = env_c[:count], env_s[:count]
  noise_c = noise_power(capture, numerology, start=capture_start)
  snr = 10 ** (estimate_snr_db(capture, numerology, start=capture_start) / 10)
  noise_s = noise_power(synthetic, numerology) if synthetic_noise_power is None else float(synthetic_noise_power)
  top_up = max(0.0, (float(np.mean(env_s)) - noise_s) / snr - noise_s)
  noise_s += top_up
  env_s = env_s + top_up
  env_db = (floored_db(env_c, noise_c), floored_db(env_s, noise_s))
  lag = align(*env_db)
  if capture_first_subframe is None:
    capture_first_subframe = -lag % FRAME_SUBFRAMES  # capture subframe i is synthetic subframe i - lag
  numbers = (int(capture_first_subframe) + np.arange(count)) % FRAME_SUBFRAMES
  sym_c = folded_symbol_power(capture, fs, numerology, start=capture_start,
                              subframes=np.flatnonzero(np.isin(numbers, downlink)))
  sym_s = top_up + folded_symbol_power(synthetic, fs, numerology, start=0, subframes=np.flatnonzero(
      np.isin(np.arange(count) % FRAME_SUBFRAMES, downlink)))
  sym_db = (floored_db(sym_c, noise_c), floored_db(sym_s, noise_s))
  return {
      'envelope_db': env_db, 'envelope_linear': (env_c, env_s), 'envelope_lag': lag,
      'envelope_r_db': profile_correlation(*env_db, lag=lag),
      'envelope_r_linear': profile_correlation(env_c, env_s, lag=lag),
      'symbols_db': sym_db, 'symbols_linear': (sym_c, sym_s), 'symbols_lag': align(*sym_db),
      'symbols_r_db': profile_correlation(*sym_db, lag=0),
      'symbols_r_linear': profile_correlation(sym_c, sym_s, lag=0),
      'capture_start': int(capture_start), 'capture_first_subframe': int(capture_first_subframe),
      'noise_power': (noise_c, noise_s), 'snr_db': float(10 * np.log10(snr)),
  }
