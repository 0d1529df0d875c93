"""DVB-T (ETSI EN 300 744) OFDM broadcast, an interferer the networks must call Unknown.

2k or 8k mode, 6/7/8 MHz channels, random QAM data cells, continual and scattered pilots at 4/3 amplitude,
TPS carriers and a cyclic guard interval. A broadcast never stops: the waveform starts at a drawn point of the
superframe and is filled end to end. Data cells are Gray-mapped square QAM of unit mean power; the standard's
bit labelling, hierarchy and channel coding are not modelled (they do not change the spectrum).
"""

from __future__ import annotations

import fractions
import functools

import numpy as np
import scipy.fft
import scipy.signal

from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

# EN 300 744 §4.4, Table 2: FFT size (T_U / T) and number of carriers K = Kmax + 1 (Kmin = 0).
MODES = {'2k': (2048, 1705), '8k': (8192, 6817)}
# EN 300 744 §4.4 and Annex E: elementary period T = 7/64 µs in 8 MHz channels, 1/8 µs in 7 MHz, 7/48 µs in
# 6 MHz, i.e. a rate 1/T of 8/7 × the channel bandwidth.
BANDWIDTHS_MHZ = (6, 7, 8)
# EN 300 744 §4.4: guard interval Δ / T_U.
GUARDS = {'1/4': fractions.Fraction(1, 4), '1/8': fractions.Fraction(1, 8), '1/16': fractions.Fraction(1, 16),
          '1/32': fractions.Fraction(1, 32)}
MODULATIONS = ('qpsk', '16qam', '64qam')  # EN 300 744 §4.3.5 (non-hierarchical)
SYMBOLS_PER_FRAME = 68  # EN 300 744 §4.4: 68 symbols a frame, 4 frames a superframe
PILOT_AMPLITUDE = 4 / 3  # EN 300 744 §4.5.3: boosted continual and scattered pilots
# EN 300 744 §4.5.3, Table 7: continual pilot carriers of the 2k mode; the 8k table repeats them at offsets
# of 1704 carriers (45 carriers in 2k, 177 in 8k once the shared edges 1704, 3408, 5112 are counted once).
CONTINUAL_PILOTS_2K = (0, 48, 54, 87, 141, 156, 192, 201, 255, 279, 282, 333, 432, 450, 483, 525, 531, 618, 636,
                       714, 759, 765, 780, 804, 873, 888, 918, 939, 942, 969, 984, 1050, 1101, 1107, 1110, 1137,
                       1140, 1146, 1206, 1269, 1323, 1377, 1491, 1683, 1704)
# EN 300 744 §4.6, Table 9: TPS carriers of the 2k mode; the 8k table repeats them likewise (17 and 68).
TPS_CARRIERS_2K = (34, 50, 209, 346, 413, 569, 595, 688, 790, 901, 1073, 1219, 1262, 1286, 1469, 1594, 1687)
_BLOCK = 1704


def _check_mode(mode: str) -> tuple[int, int]:
  if mode not in MODES:
    raise ValueError(f'mode must be one of {sorted(MODES)}, got {mode!r}')
  return MODES[mode]


def _repeat(carriers_2k: tuple[int, ...], mode: str) -> np.ndarray:
  kmax = _check_mode(mode)[1] - 1
  k = np.asarray(carriers_2k)[None, :] + _BLOCK * np.arange(kmax // _BLOCK)[:, None]
  return np.unique(k)


def continual_pilots(mode: str) -> np.ndarray:
  """Carrier indices k of the continual pilots (EN 300 744 Table 7)."""
  return _repeat(CONTINUAL_PILOTS_2K, mode)


def tps_carriers(mode: str) -> np.ndarray:
  """Carrier indices k of the TPS cells (EN 300 744 Table 9)."""
  return _repeat(TPS_CARRIERS_2K, mode)


def scattered_pilots(mode: str, symbol: int) -> np.ndarray:
  """k = Kmin + 3·(l mod 4) + 12p for symbol l of a frame, within [Kmin, Kmax] (EN 300 744 §4.5.3)."""
  kmax = _check_mode(mode)[1] - 1
  return np.arange(3 * (int(symbol) % 4), kmax + 1, 12)


@functools.lru_cache(maxsize=2)
def reference_sequence(num_carriers: int) -> np.ndarray:
  """w_k of EN 300 744 §4.5.2: PRBS x^11 + x^2 + 1 with all-ones initial state, one bit per carrier from Kmin.

  w(n + 11) = w(n + 2) xor w(n); the first 11 bits are the initial ones.
  """
  w = np.ones(max(num_carriers, 11), np.uint8)
  for n in range(11, num_carriers):
    w[n] = w[n - 9] ^ w[n - 11]
  return w[:num_carriers]


def data_carriers(mode: str, symbol: int) -> np.ndarray:
  """Carriers of symbol l that hold data cells: neither pilots nor TPS (1512 in 2k, 6048 in 8k)."""
  return _symbol_layout(mode, int(symbol) % 4)[0]


@functools.lru_cache(maxsize=8)
def _symbol_layout(mode: str, phase: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(data carriers, pilot carriers, TPS carriers) of a symbol with l mod 4 = phase; the pattern repeats."""
  num_carriers = MODES[mode][1]
  pilots = np.union1d(continual_pilots(mode), scattered_pilots(mode, phase))
  tps = tps_carriers(mode)
  used = np.zeros(num_carriers, bool)
  used[pilots] = True
  used[tps] = True
  return np.flatnonzero(~used), pilots, tps


def symbol_cells(mode: str, symbol: int, rng: np.random.Generator, modulation: str, tps_bit: int) -> np.ndarray:
  """The K cells c_k of symbol l (EN 300 744 §4.5): random QAM data, pilots Re = 4/3·2(1/2 - w_k), TPS
  Re = ±2(1/2 - w_k) (the DBPSK bit of the symbol, `tps_bit`, flips the sign)."""
  num_carriers = MODES[mode][1]
  w_sign = 1 - 2 * reference_sequence(num_carriers).astype(np.float32)
  cells = np.zeros(num_carriers, np.complex64)
  data, pilots, tps = _symbol_layout(mode, int(symbol) % 4)
  cells[data] = sequences.random_qam(rng, len(data), modulation)
  cells[pilots] = PILOT_AMPLITUDE * w_sign[pilots]
  cells[tps] = (1 - 2 * tps_bit) * w_sign[tps]
  return cells


def _guard(guard) -> tuple[str, fractions.Fraction]:
  for name, value in GUARDS.items():
    if guard == name or (not isinstance(guard, (str, bool)) and isinstance(guard, (int, float, fractions.Fraction))
                         and abs(float(guard) - float(value)) < 1e-12):
      return name, value
  raise ValueError(f'guard must be one of {sorted(GUARDS)} (as a string or number), got {guard!r}')


def dvbt_waveform(bandwidth_mhz: float = 8, *, seed, mode: str = '8k', guard='1/4', modulation: str = '64qam',
                  sample_rate: float = 61.44e6, duration_s: float = 0.04) -> waveform_lib.Waveform:
  """A DVB-T signal centred at 0 Hz, labelled 'Unknown'.

  Args:
    bandwidth_mhz: channel bandwidth 6, 7 or 8 (scales the elementary period T).
    seed: seed (int, ints or numpy SeedSequence) of every draw.
    mode: '2k' or '8k'.
    guard: guard interval Δ/T_U, '1/4', '1/8', '1/16' or '1/32' (or the number).
    modulation: data cells 'qpsk', '16qam' or '64qam'.
    sample_rate: output rate, at least the occupied bandwidth K/T_U (7.61 MHz in 8 MHz channels).
    duration_s: waveform length.

  Returns:
    A `Waveform` with one occupancy cell over the whole duration and the K carriers' band; params record the
    superframe symbol of sample 0 ('first_symbol'), the time from that symbol's start to sample 0
    ('symbol_phase_s') and the TPS bits.
  """
  if isinstance(bandwidth_mhz, bool) or bandwidth_mhz not in BANDWIDTHS_MHZ:
    raise ValueError(f'bandwidth_mhz must be one of {BANDWIDTHS_MHZ}, got {bandwidth_mhz!r}')
  fft_size, num_carriers = _check_mode(mode)
  guard_name, guard_ratio = _guard(guard)
  if modulation not in MODULATIONS:
    raise ValueError(f'modulation must be one of {MODULATIONS}, got {modulation!r}')
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  elementary_rate = fractions.Fraction(8_000_000 * int(bandwidth_mhz), 7)  # 1/T
  spacing = float(elementary_rate) / fft_size  # 1/T_U
  half_band = num_carriers / 2 * spacing
  if 2 * half_band > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the {2 * half_band / 1e6:.2f} MHz occupied '
                     f'by DVB-T {bandwidth_mhz} MHz {mode}')
  num_samples = int(round(duration_s * sample_rate))
  target = fractions.Fraction(sample_rate).limit_denominator(10**6)
  # Direct synthesis where T_U and Δ are whole samples at the output rate, else at 2/T and resampled.
  scale = target / elementary_rate
  if (scale * fft_size).denominator == 1 and (scale * fft_size * guard_ratio).denominator == 1:
    ratio, synth_fft = fractions.Fraction(1), int(scale * fft_size)
  else:
    ratio, synth_fft = (target / (2 * elementary_rate)).limit_denominator(1000), 2 * fft_size
  synth_guard = int(synth_fft * guard_ratio)
  symbol_len = synth_fft + synth_guard
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  first_symbol = int(rng.integers(0, 4 * SYMBOLS_PER_FRAME))
  phase = int(rng.integers(0, symbol_len))
  pad = symbol_len if ratio != 1 else 0  # a whole symbol before sample 0 hides the resampler's start transient
  needed = int(np.ceil((num_samples + 1) / float(ratio))) + phase + 2 * pad
  num_symbols = -(-needed // symbol_len)
  tps_bits = rng.integers(0, 2, num_symbols)
  k = np.arange(num_carriers)
  bins = (k - (num_carriers - 1) // 2) % synth_fft  # carrier k' = k - (Kmax + Kmin)/2 (§4.4) sits at k'/T_U
  spectrum = np.zeros((num_symbols, synth_fft), np.complex64)
  for i in range(num_symbols):
    l = (first_symbol + i - (1 if pad else 0)) % (4 * SYMBOLS_PER_FRAME)
    spectrum[i, bins] = symbol_cells(mode, l % SYMBOLS_PER_FRAME, rng, modulation, int(tps_bits[i]))
  symbols = scipy.fft.ifft(spectrum, axis=1, norm='forward') / np.float32(np.sqrt(num_carriers))
  iq = np.concatenate([symbols[:, synth_fft - synth_guard:], symbols], axis=1).reshape(-1)
  if ratio != 1:
    iq = scipy.signal.resample_poly(iq, ratio.numerator, ratio.denominator)
  start = int(round((pad + phase) * float(ratio)))
  iq = np.asarray(iq[start:start + num_samples], np.complex64)
  params = {'standard': 'DVB-T', 'bandwidth_mhz': int(bandwidth_mhz), 'mode': mode, 'guard': guard_name,
            'modulation': modulation, 'first_symbol': first_symbol,
            'symbol_phase_s': phase / (float(elementary_rate) * synth_fft / fft_size),
            'tps_bits': tps_bits.tolist()}
  occupancy = np.array([[0, num_samples, -half_band, half_band]], np.float64)
  return waveform_lib.Waveform(iq=iq, sample_rate=sample_rate, bandwidth_hz=int(bandwidth_mhz) * 1e6,
                               label='Unknown', occupancy=occupancy, params=params)
