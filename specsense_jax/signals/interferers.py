"""Signals the networks must call Unknown (class 3): CW tones, analog FM broadcast, narrowband PMR bursts and
SC-FDMA uplink from phones in TDD uplink subframes/slots. DVB-T lives in `dvbt`.

Every generator returns a `waveform.Waveform` labelled 'Unknown', centred at 0 Hz, at any sample rate and
duration, with occupancy cells [sample_start, sample_count, f_lo, f_hi] and its draws in `params`; all draws
derive from the seed. `scene_interferers` puts them into scenes.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import scipy.signal

from specsense_jax import portable_math
from specsense_jax.signals import dvbt
from specsense_jax.signals import lte
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import nr
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

LABEL = 'Unknown'
dvbt_waveform = dvbt.dvbt_waveform
# FSK-family modulations of PMR channels: bits per symbol, frequency deviation per unit symbol value in symbol
# rates, Gaussian filter BT. GMSK: modulation index h = 0.5 (deviation R/4), BT 0.3 (GSM-like, 3GPP TS 45.004).
# 4FSK: DMR/dPMR deviations ±648/±1944 Hz at 4800 symbols/s (ETSI TS 102 361-1 §10.2), i.e. 0.135·R per unit
# of the symbols ±1, ±3; their root-raised-cosine shaping is approximated by a Gaussian of BT 0.5.
FSK_MODULATIONS = {'gmsk': (1, 0.25, 0.3), '4fsk': (2, 0.135, 0.5)}
SYMBOL_RATE_PER_SPACING = 0.384  # 4800 symbols/s in 12.5 kHz channels, 9600 in 25 kHz
CHANNEL_SPACINGS_HZ = (6.25e3, 12.5e3, 25e3)
RATS = ('lte', 'nr')
UPLINK_MODULATIONS = ('qpsk', '16qam', '64qam')
# DMRS symbols of a 14-symbol subframe/slot: LTE PUSCH l = 3 of each slot (TS 36.211 §5.5.2.1.2, normal CP);
# NR PUSCH type A, dmrs-TypeA-Position pos2 with dmrs-AdditionalPosition pos1 (TS 38.211 Table 6.4.1.1.3-3).
DMRS_SYMBOLS = {'lte': (3, 10), 'nr': (2, 11)}


def _rate_and_length(sample_rate, duration_s) -> tuple[float, int]:
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  num_samples = int(round(duration_s * sample_rate))
  if num_samples < 1:
    raise ValueError(f'duration_s={duration_s!r} gives no sample at {sample_rate:g} Hz')
  return sample_rate, num_samples


def _check_band(name: str, low: float, high: float, sample_rate: float) -> None:
  if low < -sample_rate / 2 or high > sample_rate / 2:
    raise ValueError(f'{name} puts the signal at [{low / 1e3:g}, {high / 1e3:g}] kHz, outside the '
                     f'±{sample_rate / 2e3:g} kHz of sample_rate {sample_rate:g}')


def _waveform(iq, sample_rate, bandwidth_hz, occupancy, params) -> waveform_lib.Waveform:
  occupancy = np.asarray(occupancy, np.float64).reshape(-1, 4)
  return waveform_lib.Waveform(iq=np.asarray(iq, np.complex64), sample_rate=sample_rate,
                               bandwidth_hz=float(bandwidth_hz), label=LABEL, occupancy=occupancy, params=params)


def cw_waveform(offset_hz: float = 0.0, *, seed, sample_rate: float = 61.44e6, duration_s: float = 0.04,
                linewidth_hz: float = 0.0, cell_width_hz: float = 2e3) -> waveform_lib.Waveform:
  """An unmodulated carrier at `offset_hz` with unit power and a drawn phase.

  Args:
    offset_hz: tone frequency relative to the centre.
    seed: seed of the draws (start phase, phase noise).
    sample_rate: output rate.
    duration_s: length.
    linewidth_hz: Lorentzian linewidth of Wiener phase noise (phase increments of variance 2π·linewidth/fs);
      0 is a pure tone.
    cell_width_hz: width of the occupancy cell around the tone (a line has no width of its own).
  """
  sample_rate, num_samples = _rate_and_length(sample_rate, duration_s)
  offset_hz = float(offset_hz)
  linewidth_hz = waveform_lib.check_positive('linewidth_hz', linewidth_hz, allow_zero=True)
  cell_width_hz = waveform_lib.check_positive('cell_width_hz', cell_width_hz)
  half = max(cell_width_hz, linewidth_hz) / 2
  _check_band('offset_hz', offset_hz - half, offset_hz + half, sample_rate)
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  phase0 = float(rng.uniform(0, 2 * np.pi))
  n = np.arange(num_samples)
  phase = 2 * np.pi * ((offset_hz / sample_rate * n) % 1.0) + phase0
  if linewidth_hz > 0:
    phase += np.cumsum(rng.normal(0, np.sqrt(2 * np.pi * linewidth_hz / sample_rate), num_samples))
  params = {'kind': 'cw', 'offset_hz': offset_hz, 'phase0': phase0, 'linewidth_hz': linewidth_hz}
  return _waveform(portable_math.cis(phase), sample_rate, 2 * half,
                   [[0, num_samples, offset_hz - half, offset_hz + half]], params)


def fm_waveform(*, seed, sample_rate: float = 61.44e6, duration_s: float = 0.04, deviation_hz: float = 75e3,
                audio_bandwidth_hz: float = 15e3, preemphasis_us: float = 50.0) -> waveform_lib.Waveform:
  """Analog FM broadcast (mono): a random band-limited audio process frequency-modulating a unit carrier.

  The audio is Gaussian with a flat spectrum over 30 Hz..audio_bandwidth_hz, pre-emphasized by 1 + j2πfτ
  (τ = 50 µs in Europe, 75 µs in the Americas; ITU-R BS.450) and scaled so its peak gives exactly
  `deviation_hz`. Carson's rule puts ~98 % or more of the power within 2·(Δf + f_m), the occupancy band.

  Args:
    seed: seed of the audio draw.
    sample_rate: output rate, at least the Carson bandwidth.
    duration_s: length.
    deviation_hz: peak frequency deviation Δf (75 kHz for broadcast, ITU-R BS.450).
    audio_bandwidth_hz: highest audio frequency f_m (15 kHz).
    preemphasis_us: pre-emphasis time constant τ (0: none).
  """
  sample_rate, num_samples = _rate_and_length(sample_rate, duration_s)
  deviation_hz = waveform_lib.check_positive('deviation_hz', deviation_hz)
  audio_bandwidth_hz = waveform_lib.check_positive('audio_bandwidth_hz', audio_bandwidth_hz)
  tau = waveform_lib.check_positive('preemphasis_us', preemphasis_us, allow_zero=True) * 1e-6
  if audio_bandwidth_hz <= 30:
    raise ValueError(f'audio_bandwidth_hz must exceed 30 Hz, got {audio_bandwidth_hz!r}')
  carson = 2 * (deviation_hz + audio_bandwidth_hz)
  _check_band('deviation_hz and audio_bandwidth_hz (Carson bandwidth)', -carson / 2, carson / 2, sample_rate)
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  # Audio drawn in the frequency domain over the whole length: band-limited at any rate, no long filter.
  f = np.fft.rfftfreq(num_samples, 1 / sample_rate)
  band = (f >= 30) & (f <= audio_bandwidth_hz)
  spectrum = np.zeros(len(f), np.complex128)
  spectrum[band] = (rng.normal(size=band.sum()) + 1j * rng.normal(size=band.sum())) * (1 + 2j * np.pi * f[band] * tau)
  audio = np.fft.irfft(spectrum, num_samples)
  peak = np.max(np.abs(audio))
  audio = audio / peak if peak > 0 else audio
  phase = 2 * np.pi * deviation_hz / sample_rate * np.cumsum(audio) + rng.uniform(0, 2 * np.pi)
  params = {'kind': 'fm', 'deviation_hz': deviation_hz, 'audio_bandwidth_hz': audio_bandwidth_hz,
            'preemphasis_us': tau * 1e6, 'carson_bandwidth_hz': carson}
  return _waveform(portable_math.cis(phase), sample_rate, carson, [[0, num_samples, -carson / 2, carson / 2]], params)


def _fsk_burst(rng: np.random.Generator, num_samples: int, sample_rate: float, symbol_rate: float,
               modulation: str) -> np.ndarray:
  """Continuous-phase FSK samples at 0 Hz: Gaussian-filtered symbols at 8 samples a symbol, interpolated."""
  bits, deviation, bt = FSK_MODULATIONS[modulation]
  num_symbols = int(np.ceil(num_samples / sample_rate * symbol_rate)) + 4
  levels = 2 * rng.integers(0, 2**bits, num_symbols) - (2**bits - 1)  # ±1 or ±1, ±3
  oversample = 8
  # Gaussian pulse of bandwidth-time product BT: σ = sqrt(ln 2) / (2π BT) symbols.
  sigma = np.sqrt(portable_math.log(2.0)) / (2 * np.pi * bt) * oversample
  taps = portable_math.exp(-0.5 * (np.arange(-4 * oversample, 4 * oversample + 1) / sigma)**2)
  freq = portable_math.convolve(np.repeat(levels, oversample).astype(np.float64), taps / taps.sum(), mode='same')
  freq = freq * deviation * symbol_rate
  t = np.arange(num_samples) / sample_rate * symbol_rate * oversample + 2 * oversample
  inst = np.interp(t, np.arange(len(freq)), freq)
  return portable_math.cis(2 * np.pi * np.cumsum(inst) / sample_rate)


def narrowband_bursts(*, seed, sample_rate: float = 61.44e6, duration_s: float = 0.04, span_hz: float | None = None,
                      channel_spacing_hz: float = 12.5e3, num_channels=(1, 4), burst_s=(0.01, 0.5),
                      duty=(0.1, 0.9), modulation: str = 'gmsk', power_db=(-10.0, 0.0),
                      ramp_s: float = 1e-3) -> waveform_lib.Waveform:
  """PMR-like narrowband channels keyed on and off: bursts of `burst_s` seconds, FSK/GMSK modulated.

  Each channel sits on the raster m·channel_spacing_hz inside ±span_hz/2 and draws its duty cycle, power and
  burst pattern (burst lengths uniform in `burst_s`, exponential gaps of mean burst·(1 - duty)/duty; the
  pattern starts at a drawn point, so a burst may already be on at sample 0). Bursts ramp up and down with a
  raised cosine of `ramp_s` (at most a quarter of the burst).

  Args:
    seed: seed of every draw.
    sample_rate: output rate.
    duration_s: length.
    span_hz: band the channels are drawn in (default 80 % of the sample rate).
    channel_spacing_hz: 6.25, 12.5 or 25 kHz; the symbol rate is 0.384 of it (4800 symbols/s at 12.5 kHz).
    num_channels: (min, max) channels, drawn.
    burst_s: (min, max) burst length.
    duty: (min, max) duty cycle, drawn per channel.
    modulation: 'gmsk' or '4fsk'.
    power_db: (min, max) channel power in dB, drawn per channel.
    ramp_s: power ramp length.
  """
  sample_rate, num_samples = _rate_and_length(sample_rate, duration_s)
  if channel_spacing_hz not in CHANNEL_SPACINGS_HZ:
    raise ValueError(f'channel_spacing_hz must be one of {CHANNEL_SPACINGS_HZ}, got {channel_spacing_hz!r}')
  if modulation not in FSK_MODULATIONS:
    raise ValueError(f'modulation must be one of {sorted(FSK_MODULATIONS)}, got {modulation!r}')
  span_hz = 0.8 * sample_rate if span_hz is None else waveform_lib.check_positive('span_hz', span_hz)
  _check_band('span_hz', -span_hz / 2, span_hz / 2, sample_rate)
  num_slots = int(span_hz // channel_spacing_hz)
  lo, hi = waveform_lib.check_range('num_channels', num_channels, 1, max(num_slots, 1))
  if num_slots < 1 or lo != int(lo) or hi != int(hi):
    raise ValueError(f'num_channels must be whole numbers within the {num_slots} channels of span_hz, '
                     f'got {num_channels!r}')
  burst_lo, burst_hi = waveform_lib.check_range('burst_s', burst_s, 1e-4, 3600)
  duty_lo, duty_hi = waveform_lib.check_range('duty', duty, 1e-3, 1)
  power_lo, power_hi = waveform_lib.check_range('power_db', power_db, -100, 100)
  ramp_s = waveform_lib.check_positive('ramp_s', ramp_s, allow_zero=True)
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  count = int(rng.integers(int(lo), int(hi) + 1))
  raster = (np.arange(num_slots) - (num_slots - 1) / 2) * channel_spacing_hz
  centres = np.sort(rng.choice(raster, count, replace=False))
  symbol_rate = SYMBOL_RATE_PER_SPACING * channel_spacing_hz
  iq = np.zeros(num_samples, np.complex64)
  cells, channels = [], []
  t_all = np.arange(num_samples) / sample_rate
  for centre in centres:
    d = float(rng.uniform(duty_lo, duty_hi))
    power = float(rng.uniform(power_lo, power_hi))
    mean_gap = (burst_lo + burst_hi) / 2 * (1 - d) / d
    t = -float(rng.uniform(0, burst_hi + mean_gap))
    bursts = []
    while t < duration_s:
      length = float(rng.uniform(burst_lo, burst_hi))
      s0, s1 = max(int(round(t * sample_rate)), 0), min(int(round((t + length) * sample_rate)), num_samples)
      if s1 > s0:
        burst = _fsk_burst(rng, s1 - s0, sample_rate, symbol_rate, modulation)
        ramp = int(min(ramp_s, length / 4) * sample_rate)
        envelope = np.ones(s1 - s0)
        if ramp > 0:  # the ramps sit at the burst's own ends, which may lie outside the waveform
          rise = 0.5 - 0.5 * portable_math.cos(np.pi * np.arange(ramp) / ramp)
          whole = int(round((t + length) * sample_rate)) - int(round(t * sample_rate))
          j = s0 - int(round(t * sample_rate)) + np.arange(s1 - s0)  # the visible samples' places in the burst
          up, down = j < ramp, j >= whole - ramp
          envelope[up] = rise[j[up]]
          envelope[down] = rise[whole - 1 - j[down]]
        shifted = portable_math.cmul(burst, portable_math.cis(2 * np.pi * centre * t_all[s0:s1]))
        iq[s0:s1] += portable_math.db_to_amplitude(power) * envelope * shifted  # real factors
        cells.append([s0, s1 - s0, centre - channel_spacing_hz / 2, centre + channel_spacing_hz / 2])
        bursts.append((s0, s1 - s0))
      t += length + float(rng.exponential(mean_gap)) if mean_gap > 0 else length
    channels.append({'centre_hz': float(centre), 'duty': d, 'power_db': power, 'bursts': bursts})
  params = {'kind': 'narrowband_bursts', 'modulation': modulation, 'channel_spacing_hz': channel_spacing_hz,
            'symbol_rate': symbol_rate, 'channels': channels}
  return _waveform(iq, sample_rate, span_hz, cells, params)


# --- SC-FDMA / DFT-s-OFDM uplink -------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def pusch_sizes(n_rb: int) -> tuple[int, ...]:
  """PUSCH allocation sizes M_RB = 2^a·3^b·5^c up to n_rb (TS 36.211 §5.3.3, TS 38.211 §6.3.1.4)."""
  def smooth(m):
    for p in (2, 3, 5):
      while m % p == 0:
        m //= p
    return m == 1
  return tuple(m for m in range(1, n_rb + 1) if smooth(m))


@functools.lru_cache(maxsize=None)
def _largest_prime_below(n: int) -> int:
  return max(p for p in range(2, n) if all(p % d for d in range(2, int(p**0.5) + 1)))


def _zadoff_chu(length: int, q: int) -> np.ndarray:
  """x_q(m) = exp(-jπ q m(m+1)/N_ZC), N_ZC the largest prime below `length`, extended cyclically to `length`
  (TS 36.211 §5.5.1.1; used here for every size, the tables of sizes 12 and 24 are not modelled)."""
  n_zc = _largest_prime_below(max(length, 3))
  m = np.arange(length) % n_zc
  return portable_math.cis(-np.pi * (q % (n_zc - 1) + 1) * m * (m + 1) / n_zc, np.complex64)


def uplink_symbols(rat: str, duplex: str, num_units: int, ul_dl_config: int = 2,
                   tdd_pattern: str | nr_tdd.TddPattern | nr_tdd.TddConfig = 'DDDSU', scs_khz: int = 30) -> np.ndarray:
  """(num_units, 14) bool: the symbols of each LTE subframe / NR slot a phone may transmit in.

  LTE TDD: every symbol of the 'U' subframes of Table 4.2-2 (`lte_tdd.subframe_types`; the UpPTS is left
  empty). NR TDD: per pattern period, the last nrof-UplinkSlots slots and the last nrof-UplinkSymbols symbols of
  the slot before them (TS 38.213 §11.1); the complement of the downlink and flexible symbols of
  `nr_tdd.downlink_symbols`. FDD: all.
  """
  if duplex not in lte_tdd.DUPLEX_MODES:
    raise ValueError(f'duplex must be one of {lte_tdd.DUPLEX_MODES}, got {duplex!r}')
  if duplex == 'fdd':
    return np.ones((num_units, 14), bool)
  if rat == 'lte':
    lte_tdd.check_config('tdd', ul_dl_config, 0)
    kinds = np.array([c == 'U' for c in lte_tdd.subframe_types(ul_dl_config)])
    return np.repeat(np.resize(kinds, num_units)[:, None], 14, axis=1)
  config = nr_tdd.resolve(tdd_pattern, scs_khz)
  periods = []
  for pattern in (config.pattern1, config.pattern2):
    if pattern is None:
      continue
    slots = int(round(pattern.periodicity_ms * (scs_khz // 15)))
    flat = np.zeros(slots * 14, bool)
    flat[len(flat) - 14 * pattern.nrof_uplink_slots - pattern.nrof_uplink_symbols:] = True
    periods.append(flat.reshape(slots, 14))
  return np.resize(np.concatenate(periods), (num_units, 14))


def scfdma_uplink(bandwidth_mhz: float, *, seed, sample_rate: float = 61.44e6, duration_s: float = 0.04,
                  rat: str = 'lte', duplex: str = 'tdd', ul_dl_config: int = 2, tdd_pattern='DDDSU',
                  scs_khz: int = 30, num_ues=(1, 4), ue_power_db=(-20.0, 0.0), modulation: str | None = None,
                  pucch: bool = True, transform_precoding: bool = True) -> waveform_lib.Waveform:
  """Uplink from phones: PUSCH with DFT spreading (SC-FDMA) and PUCCH at the band edges, in uplink symbols only.

  LTE (TS 36.211 §5.6): subcarriers at (k + 1/2)·15 kHz, the half-subcarrier shift, no DC gap; the frame is
  aligned with the downlink frame (no timing advance). NR: DFT-s-OFDM on the plain grid (TS 38.211 §6.3.1.4,
  no 7.5 kHz shift). Each UE has a fixed power (drawn); in every subframe/slot with uplink symbols each UE is
  scheduled with probability 0.7 on a contiguous allocation of an allowed size (`pusch_sizes`) with DMRS in
  `DMRS_SYMBOLS` (Zadoff-Chu). PUCCH (drawn 1 or 2 RBs a side) hops between the edges at mid-subframe/slot
  (TS 36.211 §5.4.3: n_PRB = floor(m/2) or N_RB - 1 - floor(m/2)).

  Args:
    bandwidth_mhz: channel bandwidth (LTE 1.4..20 MHz; NR per `nr.n_rb_for`).
    seed: seed of every draw.
    sample_rate: output rate (resampled unless a multiple of 1.92 MHz).
    duration_s: length; the frame starts at sample 0.
    rat: 'lte' or 'nr'.
    duplex: 'tdd' or 'fdd' (every subframe/slot uplink).
    ul_dl_config: LTE TDD configuration 0..6 (TS 36.211 Table 4.2-2).
    tdd_pattern: NR TDD preset name, `nr_tdd.TddPattern` or `nr_tdd.TddConfig`.
    scs_khz: NR subcarrier spacing 15 or 30.
    num_ues: (min, max) number of UEs, drawn.
    ue_power_db: (min, max) power of each UE in dB, drawn.
    modulation: PUSCH modulation; None draws one per UE from qpsk, 16qam, 64qam.
    pucch: whether PUCCH RBs are sent.
    transform_precoding: False sends the same data as plain OFDMA (NR CP-OFDM PUSCH), for comparison.
  """
  sample_rate, num_samples = _rate_and_length(sample_rate, duration_s)
  up = uplink_grid(bandwidth_mhz, seed=seed, duration_s=duration_s, rat=rat, duplex=duplex,
                   ul_dl_config=ul_dl_config, tdd_pattern=tdd_pattern, scs_khz=scs_khz, num_ues=num_ues,
                   ue_power_db=ue_power_db, modulation=modulation, pucch=pucch,
                   transform_precoding=transform_precoding, sample_rate=sample_rate)
  grid, scs_hz = up.grid, up.scs_hz
  numerology, ratio = waveform_lib.synthesis_numerology(up.numerology_at, sample_rate, grid.shape[1])
  iq = ofdm.modulate(grid, numerology)
  if rat == 'lte':  # TS 36.211 §5.6: e^{j2π(k+1/2)Δf(t - N_CP T_s)}, the half shift restarts every symbol
    starts = numerology.symbol_starts(grid.shape[0])
    lengths = numerology.cp_of(grid.shape[0]) + numerology.fft_size
    local = np.arange(len(iq)) - np.repeat(starts + numerology.cp_of(grid.shape[0]), lengths)
    iq = portable_math.cmul(iq, portable_math.cis(np.pi * scs_hz / numerology.sample_rate * local, np.complex64))
  if ratio != 1:
    iq = scipy.signal.resample_poly(iq, ratio.numerator, ratio.denominator)
  cells = waveform_lib.occupancy_cells(grid, numerology, ratio, num_samples)
  if rat == 'lte':
    cells[:, 2:] += scs_hz / 2
  return _waveform(iq[:num_samples], sample_rate, float(bandwidth_mhz) * 1e6, cells, up.params)


@dataclasses.dataclass
class UplinkGrid:
  """The resource grid of `scfdma_uplink` before modulation.

  Attributes:
    grid: (units·14, 12·n_rb) complex64; subframe/slot u holds rows 14u..14u+13, from the frame start.
    numerology_at: sample rate -> `ofdm.Numerology` (LTE: no DC gap; the half-subcarrier shift is not applied).
    scs_hz: subcarrier spacing.
    params: the draws, as `scfdma_uplink` records them.
  """
  grid: np.ndarray
  numerology_at: object
  scs_hz: float
  params: dict


def uplink_grid(bandwidth_mhz: float, *, seed, duration_s: float = 0.04, rat: str = 'lte', duplex: str = 'tdd',
                ul_dl_config: int = 2, tdd_pattern='DDDSU', scs_khz: int = 30, num_ues=(1, 4),
                ue_power_db=(-20.0, 0.0), modulation: str | None = None, pucch: bool = True,
                transform_precoding: bool = True, sample_rate: float | None = None) -> UplinkGrid:
  """The uplink grid of `scfdma_uplink` (same arguments and draws); `sample_rate`, if given, is only checked
  against the occupied bandwidth."""
  if rat not in RATS:
    raise ValueError(f'rat must be one of {RATS}, got {rat!r}')
  if rat == 'lte':
    n_rb, unit_s = lte.n_rb_for(bandwidth_mhz), 1e-3
    numerology_at = lambda fs: dataclasses.replace(ofdm.lte_numerology(fs), skip_dc=False)  # noqa: E731
  else:
    if scs_khz not in (15, 30):
      raise ValueError(f'scs_khz must be 15 or 30, got {scs_khz!r}')
    n_rb, unit_s = nr.n_rb_for(bandwidth_mhz, scs_khz), 1e-3 / (scs_khz // 15)
    numerology_at = functools.partial(ofdm.nr_numerology, scs_khz)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  scs_hz = 15e3 if rat == 'lte' else scs_khz * 1e3
  if sample_rate is not None and 12 * n_rb * scs_hz > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth of {n_rb} RBs')
  ue_lo, ue_hi = waveform_lib.check_range('num_ues', num_ues, 1, 64)
  if ue_lo != int(ue_lo) or ue_hi != int(ue_hi):
    raise ValueError(f'num_ues must be a pair of ints, got {num_ues!r}')
  p_lo, p_hi = waveform_lib.check_range('ue_power_db', ue_power_db, -100, 100)
  if modulation is not None and modulation not in UPLINK_MODULATIONS:
    raise ValueError(f'modulation must be None or one of {UPLINK_MODULATIONS}, got {modulation!r}')
  num_units = int(np.ceil(duration_s / unit_s - 1e-9)) + 1
  uplink = uplink_symbols(rat, duplex, num_units, ul_dl_config, tdd_pattern, scs_khz)
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  count = int(rng.integers(int(ue_lo), int(ue_hi) + 1))
  powers = rng.uniform(p_lo, p_hi, count)
  mods = [modulation or str(rng.choice(UPLINK_MODULATIONS)) for _ in range(count)]
  edge = int(rng.integers(1, 3)) if pucch else 0  # PUCCH RBs a side: indices m < 2·edge
  pucch_amp = portable_math.db_to_amplitude(float(rng.uniform(p_lo, p_hi)))
  n_sc = 12 * n_rb
  grid = np.zeros((num_units * 14, n_sc), np.complex64)
  allocations = []
  dmrs = np.zeros(14, bool)
  dmrs[list(DMRS_SYMBOLS[rat])] = True
  sizes = np.asarray(pusch_sizes(n_rb))
  for u in range(num_units):
    symbols = np.flatnonzero(uplink[u])
    if len(symbols) == 0:
      continue
    for m in range(2 * edge):  # PUCCH RB m: lower edge in the first half, upper in the second (m even)
      for half in (0, 1):
        rows = symbols[(symbols // 7) == half]
        if len(rows) == 0:
          continue
        rb = m // 2 if (m + half) % 2 == 0 else n_rb - 1 - m // 2
        base = _zadoff_chu(12, int(rng.integers(0, 10)))
        grid[14 * u + rows, 12 * rb:12 * rb + 12] = pucch_amp * portable_math.cmul(
            base[None, :], sequences.random_qam(rng, (len(rows), 1), 'qpsk'))
    cursor, top = edge, n_rb - edge
    for ue in rng.permutation(count):
      if rng.random() >= 0.7:
        continue
      gap = int(rng.integers(0, max(1, (top - cursor) // 4)))
      fit = sizes[sizes <= top - cursor - gap]
      if len(fit) == 0:
        break
      size = int(rng.choice(fit))
      start, cursor = cursor + gap, cursor + gap + size
      m_sc = 12 * size
      data_rows = symbols[~dmrs[symbols]]
      block = sequences.random_qam(rng, (len(data_rows), m_sc), mods[ue])
      if transform_precoding:  # TS 36.211 §5.3.3: z = DFT(d) / sqrt(M)
        block = np.fft.fft(block, axis=1, norm='ortho').astype(np.complex64)
      amp = portable_math.db_to_amplitude(powers[ue])
      grid[14 * u + data_rows, 12 * start:12 * start + m_sc] = amp * block
      ref_rows = symbols[dmrs[symbols]]
      grid[14 * u + ref_rows, 12 * start:12 * start + m_sc] = amp * _zadoff_chu(m_sc, int(rng.integers(0, 30)))
      allocations.append((u, int(ue), start, size))
  params = {'kind': 'scfdma_uplink', 'rat': rat, 'duplex': duplex, 'n_rb': n_rb, 'num_ues': count,
            'ue_power_db': powers.tolist(), 'modulations': mods, 'pucch_rbs_per_side': edge,
            'pucch_power_db': 2 * portable_math.power_to_db(pucch_amp), 'allocations': allocations,
            'transform_precoding': bool(transform_precoding)}
  if duplex == 'tdd':
    params.update({'ul_dl_config': int(ul_dl_config)} if rat == 'lte' else {'tdd_pattern': str(tdd_pattern),
                                                                            'scs_khz': scs_khz})
  return UplinkGrid(grid, numerology_at, scs_hz, params)
