"""One 802.11 PPDU as complex baseband samples: non-HT (clause 17, and the non-HT duplicate of §17.3.2), HT mixed
format (clause 19), VHT (clause 21) and HE SU (802.11ax clause 27), one spatial stream, at 20, 40 or 80 MHz.

Every field is standard: L-STF, L-LTF and L-SIG (with the LENGTH that makes legacy receivers defer), the format's
own signal fields carrying real content (BCC-coded, interleaved, BPSK or QBPSK, with their CRC), its STF/LTF
sequences and pilots with the polarity sequence. Non-HT data is the full chain: a random PSDU after SERVICE,
scrambled, BCC-coded, punctured, interleaved and mapped. HT/VHT/HE data tones carry uniformly random coded bits
of the drawn MCS: a scrambled payload's coded bits are uniform and independent, so the samples have the same
statistics without the LDPC encoder that HE at 40/80 MHz would need. Each OFDM symbol has unit mean power; the
PPDU is built at twice the native rate (20·N·2 MHz), so the IFFT keeps the symbols' sidelobes for the transmit
filter that `wlan_waveform` applies.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.fft

from specsense_jax.signals import wlan_coding
from specsense_jax.signals import wlan_fields

OVERSAMPLE = 2
NON_HT_RATES = {6: (1, '1/2'), 9: (1, '3/4'), 12: (2, '1/2'), 18: (2, '3/4'), 24: (4, '1/2'), 36: (4, '3/4'),
                48: (6, '2/3'), 54: (6, '3/4')}  # §17.3.2.3 Table 17-4: Mb/s -> (bits per subcarrier, rate)
# §19.5 / §21.5 / §27.5 MCS tables, one spatial stream: MCS -> (bits per subcarrier, coding rate).
MCS_TABLE = {0: (1, '1/2'), 1: (2, '1/2'), 2: (2, '3/4'), 3: (4, '1/2'), 4: (4, '3/4'), 5: (6, '2/3'),
             6: (6, '3/4'), 7: (6, '5/6'), 8: (8, '3/4'), 9: (8, '5/6'), 10: (10, '3/4'), 11: (10, '5/6')}
MAX_MCS = {'ht': 7, 'vht': 9, 'he_su': 11}
GUARD_INTERVALS_US = {'non_ht': (0.8,), 'ht': (0.8, 0.4), 'vht': (0.8, 0.4), 'he_su': (0.8, 1.6, 3.2)}
HE_LTF_FOR_GI = {0.8: 2, 1.6: 2, 3.2: 4}  # §27.3.11.7 Table 27-18: the 2x and 4x HE-LTF combinations drawn
PE_DURATIONS_US = (0, 4, 8, 12, 16)  # §27.3.13: HE packet extension
MAX_TXTIME_US = 5484.0  # aPPDUMaxTime (§19.4.4, §21.4.4, §27.4.4)
MAX_LENGTH = {'non_ht': 4095, 'ht': 65535, 'vht': 1048575, 'he_su': 6500631}
# Transmit spectrum masks (§17.3.9.3, §19.3.18.1, §21.3.17.1, §27.3.19.1): (offset MHz, dBr) points per
# (family, bandwidth); 'non_ht' at 40/80 MHz is the non-HT duplicate, held to the VHT mask of its width.
SPECTRUM_MASKS = {
    ('legacy', 20): ((9.0, 0.0), (11.0, -20.0), (20.0, -28.0), (30.0, -40.0)),
    ('legacy', 40): ((19.0, 0.0), (21.0, -20.0), (40.0, -28.0), (60.0, -40.0)),
    ('legacy', 80): ((39.0, 0.0), (41.0, -20.0), (80.0, -28.0), (120.0, -40.0)),
    ('he', 20): ((9.75, 0.0), (10.5, -20.0), (20.0, -28.0), (30.0, -40.0)),
    ('he', 40): ((19.5, 0.0), (20.5, -20.0), (40.0, -28.0), (60.0, -40.0)),
    ('he', 80): ((39.5, 0.0), (40.5, -20.0), (80.0, -28.0), (120.0, -40.0)),
}
# §21.5: MCS that the VHT rate tables exclude for one spatial stream (N_DBPS or N_CBPS/N_ES not whole).
INVALID_VHT_MCS = {('vht', 20, 9), ('vht', 80, 6)}
_PILOT_OFFSET = {'non_ht': 1, 'ht': 3, 'vht': 4, 'he_su': 4}  # p_{n + offset} for data symbol n
_HE_LSIG_EXTRA = ((-28, -27, 27, 28), (-1.0, -1.0, -1.0, 1.0))  # §27.3.11.5: extra L-SIG/RL-SIG tones


@dataclasses.dataclass(frozen=True)
class PpduSpec:
  """What one PPDU carries.

  Attributes:
    fmt: 'non_ht', 'ht', 'vht' or 'he_su'.
    bandwidth_mhz: 20, 40 or 80 (HT: 20 or 40).
    mcs: MCS index; for non-HT the rate in Mb/s (6..54).
    length: PSDU bytes (HT: HT length; VHT/HE: the PSDU/A-MPDU length).
    gi_us: guard interval: 0.8 (or 0.4, short GI) for HT/VHT, 0.8/1.6/3.2 for HE, 0.8 for non-HT.
    pe_us: HE packet extension.
    scrambler_state: the scrambler's initial state (1..127), drawn per PPDU.
  """
  fmt: str
  bandwidth_mhz: int
  mcs: int
  length: int
  gi_us: float = 0.8
  pe_us: int = 0
  scrambler_state: int = 93

  def __post_init__(self):
    _check_spec(self)

  @property
  def subchannels(self) -> int:
    return self.bandwidth_mhz // 20

  @property
  def data_tonemap(self) -> wlan_fields.ToneMap:
    if self.fmt == 'non_ht':
      return wlan_fields.legacy_tonemap()
    if self.fmt == 'he_su':
      return wlan_fields.he_tonemap(self.subchannels)
    return wlan_fields.vht_tonemap(self.subchannels)

  @property
  def modulation(self) -> tuple[int, str]:
    return NON_HT_RATES[self.mcs] if self.fmt == 'non_ht' else MCS_TABLE[self.mcs]

  @property
  def bits_per_symbol(self) -> int:
    """N_DBPS (per 20 MHz copy for non-HT duplicate)."""
    bits, rate = self.modulation
    num, den = map(int, rate.split('/'))
    return self.data_tonemap.num_data * bits * num // den

  @property
  def num_symbols(self) -> int:
    """Data symbols: SERVICE, PSDU and tail bits in whole symbols (§17.3.5.4, Equation 19-32, 21-65, 27-64)."""
    return math.ceil((wlan_coding.SERVICE_BITS + 8 * self.length + wlan_coding.TAIL_BITS) / self.bits_per_symbol)

  @property
  def symbol_us(self) -> float:
    return (12.8 if self.fmt == 'he_su' else 3.2) + self.gi_us

  @property
  def preamble_us(self) -> float:
    """Fields before the data: 20 µs of L-STF, L-LTF and L-SIG plus the format's own."""
    if self.fmt == 'he_su':
      return 20.0 + 4.0 + 8.0 + 4.0 + self.he_ltf_us  # RL-SIG, HE-SIG-A, HE-STF, one HE-LTF
    return 20.0 + {'non_ht': 0.0, 'ht': 8.0 + 4.0 + 4.0, 'vht': 8.0 + 4.0 + 4.0 + 4.0}[self.fmt]

  @property
  def he_ltf_us(self) -> float:
    return (6.4 if HE_LTF_FOR_GI[self.gi_us] == 2 else 12.8) + self.gi_us

  @property
  def duration_us(self) -> float:
    """The PPDU's length on air."""
    return self.preamble_us + self.num_symbols * self.symbol_us + self.pe_us

  @property
  def txtime_us(self) -> float:
    """TXTIME: the duration with a short-GI data field rounded up to whole 4 µs (Equation 19-90, 21-105)."""
    data = self.num_symbols * self.symbol_us
    if self.fmt in ('ht', 'vht') and self.gi_us == 0.4:
      data = 4.0 * math.ceil(round(data / 4.0, 9))
    return self.preamble_us + data + self.pe_us

  @property
  def lsig(self) -> tuple[int, int]:
    """(RATE Mb/s, LENGTH) of L-SIG: the PSDU for non-HT; 6 Mb/s and the spoofed length for the others
    (Equation 19-1, 21-24; Equation 27-11 with m = 2 for HE SU, no signal extension: LENGTH mod 3 = 1 marks
    HE SU)."""
    if self.fmt == 'non_ht':
      return self.mcs, self.length
    symbols = math.ceil(round((self.txtime_us - 20.0) / 4.0, 9))
    return 6, symbols * 3 - 3 - (2 if self.fmt == 'he_su' else 0)


def valid_mcs(fmt: str, bandwidth_mhz: int) -> list[int]:
  """The MCS indices (non-HT: rates in Mb/s) a PPDU of `fmt` at `bandwidth_mhz` may use, one spatial stream."""
  if fmt == 'non_ht':
    return sorted(NON_HT_RATES)
  return [m for m in range(MAX_MCS[fmt] + 1) if (fmt, bandwidth_mhz, m) not in INVALID_VHT_MCS]


def _check_spec(spec: PpduSpec) -> None:
  if spec.fmt not in wlan_fields.FORMATS:
    raise ValueError(f'fmt must be one of {wlan_fields.FORMATS}, got {spec.fmt!r}')
  if spec.bandwidth_mhz not in wlan_fields.BANDWIDTHS_MHZ[spec.fmt]:
    raise ValueError(f'bandwidth_mhz for {spec.fmt} must be one of {wlan_fields.BANDWIDTHS_MHZ[spec.fmt]}, '
                     f'got {spec.bandwidth_mhz!r}')
  allowed = sorted(NON_HT_RATES) if spec.fmt == 'non_ht' else list(range(MAX_MCS[spec.fmt] + 1))
  if spec.mcs not in allowed:
    raise ValueError(f'mcs for {spec.fmt} must be one of {allowed}, got {spec.mcs!r}')
  if spec.gi_us not in GUARD_INTERVALS_US[spec.fmt]:
    raise ValueError(f'gi_us for {spec.fmt} must be one of {GUARD_INTERVALS_US[spec.fmt]}, got {spec.gi_us!r}')
  if (spec.fmt, spec.bandwidth_mhz, spec.mcs) in INVALID_VHT_MCS:
    raise ValueError(f'VHT MCS {spec.mcs} is not valid at {spec.bandwidth_mhz} MHz with one spatial stream '
                     f'(§21.5 Tables 21-29..21-31)')
  if spec.pe_us not in (PE_DURATIONS_US if spec.fmt == 'he_su' else (0,)):
    raise ValueError(f'pe_us must be 0 (or one of {PE_DURATIONS_US} for he_su), got {spec.pe_us!r}')
  if not 1 <= spec.length <= MAX_LENGTH[spec.fmt]:
    raise ValueError(f'length must be 1..{MAX_LENGTH[spec.fmt]} bytes for {spec.fmt}, got {spec.length!r}')
  if spec.txtime_us > MAX_TXTIME_US:
    raise ValueError(f'a {spec.length}-byte {spec.fmt} PPDU at MCS {spec.mcs} lasts {spec.txtime_us:g} µs, over '
                     f'aPPDUMaxTime {MAX_TXTIME_US:g} µs')
  if not 0 < spec.scrambler_state < 128:
    raise ValueError(f'scrambler_state must be 1..127, got {spec.scrambler_state!r}')


def occupied_edge_hz(spec: PpduSpec) -> float:
  """The outer edge of the outermost occupied tone of the data field (Hz from the centre)."""
  tonemap = spec.data_tonemap
  spacing = 20e6 / (tonemap.fft_size / spec.subchannels) if spec.fmt != 'non_ht' else 312.5e3
  outer = int(np.abs(tonemap.data).max())
  if spec.fmt == 'non_ht':
    outer += 32 * (spec.subchannels - 1)
  return (outer + 0.5) * spacing


def mask_stop_hz(fmt: str, bandwidth_mhz: int) -> float:
  """Where the transmit mask of `fmt` at `bandwidth_mhz` reaches -20 dBr (Hz from the centre)."""
  return SPECTRUM_MASKS[('he' if fmt == 'he_su' else 'legacy', bandwidth_mhz)][1][0] * 1e6


class _Builder:
  """Samples of OFDM fields at 20·N·OVERSAMPLE MHz."""

  def __init__(self, subchannels: int):
    self.per_us = 20 * subchannels * OVERSAMPLE  # samples per µs
    self.parts: list[np.ndarray] = []

  def add(self, tones, values, fft_size: int, start_us: float, length_us: float, power=None) -> None:
    """Appends each row of `values` (symbols × tones) as the window [start, start + length) µs of the periodic
    IFFT of a `fft_size`-point (native) symbol; mean power 1 per symbol (`power`: the mean of sum |v|²)."""
    values = np.atleast_2d(np.asarray(values, np.complex128))
    size = fft_size * OVERSAMPLE
    spectrum = np.zeros((values.shape[0], size), np.complex128)
    spectrum[:, np.asarray(tones) % size] = values
    norm = np.sqrt(power if power is not None else np.sum(np.abs(values[0]) ** 2))
    symbols = scipy.fft.ifft(spectrum, axis=1, norm='forward', workers=1) / norm
    index = (int(round(start_us * self.per_us)) + np.arange(int(round(length_us * self.per_us)))) % size
    self.parts.append(symbols[:, index].reshape(-1).astype(np.complex64))

  def samples(self) -> np.ndarray:
    return np.concatenate(self.parts)


def _sig_symbols(bits: np.ndarray, columns: int, num_data: int) -> np.ndarray:
  """BCC rate 1/2, interleaved per symbol of `num_data` BPSK tones: (symbols, num_data) real ±1."""
  coded = wlan_coding.bcc_encode(bits).reshape(-1, num_data)
  return wlan_coding.map_bits(wlan_coding.interleave(coded, columns, 1).reshape(-1), 1).real.reshape(-1, num_data)


def _legacy_symbol(data: np.ndarray, polarity: float, extra=None) -> np.ndarray:
  """k = -28..28 of one 20 MHz legacy-layout symbol: 48 (or 52) data tones and the pilots ±7, ±21."""
  values = np.zeros(57, np.complex128)
  tonemap = wlan_fields.legacy_tonemap() if len(data) == 48 else wlan_fields.vht_tonemap(1)
  values[tonemap.data + 28] = data
  values[np.array([-21, -7, 7, 21]) + 28] = polarity * np.array([1, 1, 1, -1])
  if extra is not None:
    values[np.array(extra[0]) + 28] = extra[1]
  return values


def _add_legacy(builder: _Builder, spec: PpduSpec, symbols: np.ndarray, first_polarity: int,
                rotate: tuple[bool, ...] = (), extra=None) -> None:
  """Signal-field symbols in the legacy layout, duplicated in every 20 MHz with γ; `rotate[i]` puts symbol i on
  the quadrature axis (QBPSK)."""
  p = wlan_coding.pilot_polarity()
  for i, data in enumerate(symbols):
    data = data * (1j if i < len(rotate) and rotate[i] else 1)
    tones, values = wlan_fields.duplicate(_legacy_symbol(data, p[(first_polarity + i) % 127], extra),
                                          spec.subchannels)
    builder.add(tones, values, 64 * spec.subchannels, -0.8, 4.0)


def _non_ht_data(spec: PpduSpec, rng: np.random.Generator) -> np.ndarray:
  """§17.3.5: SERVICE + PSDU + tail + pad, scrambled (tail zeroed), coded, punctured, interleaved, mapped:
  (symbols, 48) values."""
  bits_per_subcarrier, rate = spec.modulation
  total = spec.num_symbols * spec.bits_per_symbol
  bits = np.zeros(total, np.uint8)
  bits[16:16 + 8 * spec.length] = rng.integers(0, 2, 8 * spec.length)
  bits ^= wlan_coding.scrambler_sequence(total, spec.scrambler_state)
  tail = 16 + 8 * spec.length
  bits[tail:tail + wlan_coding.TAIL_BITS] = 0
  coded = wlan_coding.bcc_encode(bits, rate).reshape(spec.num_symbols, -1)
  interleaved = wlan_coding.interleave(coded, 16, bits_per_subcarrier)
  return wlan_coding.map_bits(interleaved.reshape(-1), bits_per_subcarrier).reshape(spec.num_symbols, 48)


def _data_values(spec: PpduSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """(tones, values (symbols, tones)) of the data field, pilots included, γ applied where the format does."""
  tonemap = spec.data_tonemap
  p = wlan_coding.pilot_polarity()
  offset = _PILOT_OFFSET[spec.fmt]
  if spec.fmt == 'non_ht':
    data = _non_ht_data(spec, rng)
    rows = [wlan_fields.duplicate(_legacy_symbol(d, p[(n + offset) % 127])[2:-2], spec.subchannels)
            for n, d in enumerate(data)]
    return rows[0][0], np.stack([r[1] for r in rows])
  bits_per_subcarrier, _ = spec.modulation
  coded = rng.integers(0, 2, (spec.num_symbols, tonemap.num_data * bits_per_subcarrier))
  data = wlan_coding.map_bits(coded.reshape(-1), bits_per_subcarrier).reshape(spec.num_symbols, -1)
  pilots = np.stack([tonemap.pilot_values(n) * p[(n + offset) % 127] for n in range(spec.num_symbols)])
  tones = np.concatenate([tonemap.data, tonemap.pilots])
  values = np.concatenate([data, pilots], axis=1)
  if spec.fmt != 'he_su':
    values = values * wlan_fields.gamma(tones, spec.subchannels, 64)
  return tones, values


def _vht_sigb_bits(spec: PpduSpec) -> np.ndarray:
  """§21.3.8.3.6 Table 21-14, SU: VHT-SIG-B length (⌈length/4⌉ in 17, 19 or 21 bits), reserved ones, tail; sent
  twice at 40 MHz and four times plus a pad bit at 80 MHz (§21.3.8.3.6)."""
  width, reserved = {1: (17, 3), 2: (19, 2), 4: (21, 2)}[spec.subchannels]
  one = wlan_coding.field(math.ceil(spec.length / 4), width) + [1] * reserved + [0] * wlan_coding.TAIL_BITS
  bits = one * spec.subchannels + ([0] if spec.subchannels == 4 else [])
  return np.array(bits, np.uint8)


def ppdu_samples(spec: PpduSpec, rng: np.random.Generator) -> np.ndarray:
  """The PPDU's complex64 samples at 20·N·OVERSAMPLE MHz, `spec.duration_us` long, unit mean power per symbol.

  Args:
    spec: the PPDU.
    rng: draws the payload (PSDU bits or coded bits).
  """
  n = spec.subchannels
  builder = _Builder(n)
  builder.add(*wlan_fields.lstf(n), 64 * n, 0.0, 8.0)
  builder.add(*wlan_fields.lltf(n), 64 * n, -1.6, 8.0)
  he = spec.fmt == 'he_su'
  lsig = _sig_symbols(wlan_coding.lsig_bits(*spec.lsig), 16, 48)
  extra = _HE_LSIG_EXTRA if he else None
  _add_legacy(builder, spec, lsig, 0, extra=extra)
  if spec.fmt == 'ht':
    bits = wlan_coding.htsig_bits(spec.mcs, spec.bandwidth_mhz, spec.length, short_gi=spec.gi_us == 0.4,
                                  aggregation=spec.length > 4095)
    _add_legacy(builder, spec, _sig_symbols(bits, 16, 48), 1, rotate=(True, True))
  elif spec.fmt == 'vht':
    bits = wlan_coding.vhtsiga_bits(spec.mcs, spec.bandwidth_mhz, short_gi=spec.gi_us == 0.4,
                                    partial_aid=int(rng.integers(0, 512)))
    _add_legacy(builder, spec, _sig_symbols(bits, 16, 48), 1, rotate=(False, True))
  elif he:
    _add_legacy(builder, spec, lsig, 1, extra=extra)  # RL-SIG: L-SIG repeated
    bits = wlan_coding.hesiga_bits(spec.mcs, spec.bandwidth_mhz, ltf_size=HE_LTF_FOR_GI[spec.gi_us],
                                   gi_us=spec.gi_us, bss_color=int(rng.integers(1, 64)))
    _add_legacy(builder, spec, _sig_symbols(bits, 13, 52), 2)
  if spec.fmt in ('ht', 'vht'):
    builder.add(*wlan_fields.vht_stf(n), 64 * n, -0.8, 4.0)
    tones, values = wlan_fields.vht_ltf(n)
    builder.add(tones, values, 64 * n, -0.8, 4.0)
  if spec.fmt == 'vht':
    tonemap = wlan_fields.vht_tonemap(n)
    sigb = _sig_symbols(_vht_sigb_bits(spec), {1: 13, 2: 18, 4: 26}[n], tonemap.num_data)[0]
    pilots = tonemap.pilot_values(0) * wlan_coding.pilot_polarity()[3]
    tones = np.concatenate([tonemap.data, tonemap.pilots])
    builder.add(tones, np.concatenate([sigb, pilots]) * wlan_fields.gamma(tones, n, 64), 64 * n, -0.8, 4.0)
  if he:
    builder.add(*wlan_fields.he_stf(n), 256 * n, 0.0, 4.0)
    size = HE_LTF_FOR_GI[spec.gi_us]
    builder.add(*wlan_fields.he_ltf(n, size), 256 * n, -spec.gi_us, spec.he_ltf_us)
  tones, values = _data_values(spec, rng)
  fft_size = (256 if he else 64) * n
  builder.add(tones, values, fft_size, -spec.gi_us, spec.symbol_us, power=len(tones))
  if spec.pe_us:  # the packet extension continues the last data symbol cyclically (§27.3.13)
    builder.add(tones, values[-1:], fft_size, 12.8, spec.pe_us, power=len(tones))
  return builder.samples()
