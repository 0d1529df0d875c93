"""802.11 bit-level processing: scrambler, BCC with puncturing, interleaver, constellation mapping, and the
signal fields (L-SIG, HT-SIG, VHT-SIG-A, HE-SIG-A) as bits. IEEE 802.11-2020 clauses 17, 19, 21, 27
(802.11ax-2021). Numeric fields are written LSB first, as the standard transmits them.
"""

from __future__ import annotations

import functools

import numpy as np

from specsense_jax.signals import conv_code
from specsense_jax.signals import sequences

BCC_GENERATORS = (0o133, 0o171)  # §17.3.5.6: g0 (output A), g1 (output B), K = 7
TAIL_BITS = 6
SERVICE_BITS = 16
# §17.3.5.6 Figures 17-8/17-9 and §19.3.11.6: which of A_k, B_k each puncturing period keeps.
PUNCTURING = {'1/2': ((1,), (1,)), '2/3': ((1, 1), (1, 0)), '3/4': ((1, 1, 0), (1, 0, 1)),
              '5/6': ((1, 1, 0, 1, 0), (1, 0, 1, 0, 1))}
# Table 17-6: the RATE field R1..R4 of L-SIG for each non-HT rate (Mb/s at 20 MHz).
LSIG_RATE_BITS = {6: (1, 1, 0, 1), 9: (1, 1, 1, 1), 12: (0, 1, 0, 1), 18: (0, 1, 1, 1), 24: (1, 0, 0, 1),
                  36: (1, 0, 1, 1), 48: (0, 0, 0, 1), 54: (0, 0, 1, 1)}


def field(value: int, width: int) -> list[int]:
  """`value` as `width` bits, LSB first (how 802.11 transmits a numeric field)."""
  if not 0 <= value < 2 ** width:
    raise ValueError(f'{value} does not fit a {width}-bit field')
  return [(value >> i) & 1 for i in range(width)]


def scrambler_sequence(length: int, state: int) -> np.ndarray:
  """§17.3.5.5: the output of S(x) = x^7 + x^4 + 1 from the 7-bit initial `state` (x1 the LSB... x7 the MSB as
  written left to right in Figure 17-7: bit 6 of `state` is x7)."""
  if not 0 < state < 128:
    raise ValueError(f'scrambler state must be 1..127, got {state}')
  register = [(state >> i) & 1 for i in range(7)]  # register[i] = x_{i+1}
  out = np.zeros(length, np.uint8)
  for k in range(length):
    bit = register[6] ^ register[3]  # x7 xor x4
    out[k] = bit
    register = [bit] + register[:6]
  return out


@functools.lru_cache(maxsize=None)
def pilot_polarity() -> np.ndarray:
  """§17.3.5.10: the 127 pilot polarities p_0..p_126: the scrambler from all ones, 0 -> +1 and 1 -> -1."""
  out = 1 - 2 * scrambler_sequence(127, 0x7F).astype(np.int8)
  out.flags.writeable = False
  return out


def bcc_encode(bits: np.ndarray, rate: str = '1/2') -> np.ndarray:
  """§17.3.5.6: rate-1/2 BCC (the caller includes the tail), punctured to `rate`: A0 B0 A1 B1 ... of the kept
  bits."""
  if rate not in PUNCTURING:
    raise ValueError(f'rate must be one of {sorted(PUNCTURING)}, got {rate!r}')
  coded = conv_code.encode(bits, BCC_GENERATORS)
  keep = _puncture_mask(rate, coded.shape[1])
  return coded.T[keep.T]


def _puncture_mask(rate: str, length: int) -> np.ndarray:
  pattern = np.array(PUNCTURING[rate], bool)  # (2, period)
  return np.tile(pattern, (1, -(-length // pattern.shape[1])))[:, :length]


def bcc_decode(soft: np.ndarray, num_bits: int, rate: str = '1/2') -> np.ndarray:
  """Viterbi decoding of `bcc_encode`'s output (soft values positive for 0; punctured bits get 0)."""
  keep = _puncture_mask(rate, num_bits)
  full = np.zeros((num_bits, 2))
  full[keep.T] = np.asarray(soft, np.float64)
  return conv_code.viterbi(full.T, BCC_GENERATORS)


def interleave_indices(num_coded: int, columns: int, bits_per_subcarrier: int) -> np.ndarray:
  """§17.3.5.7 / §19.3.11.8.2: j[k], where coded bit k of an OFDM symbol goes; `columns` 16 for the 48-tone
  legacy fields, 13 for 52 tones, 18 for 108, 26 for 234."""
  k = np.arange(num_coded)
  rows = num_coded // columns
  i = rows * (k % columns) + k // columns
  s = max(bits_per_subcarrier // 2, 1)
  return s * (i // s) + (i + num_coded - (columns * i) // num_coded) % s


def interleave(bits: np.ndarray, columns: int, bits_per_subcarrier: int) -> np.ndarray:
  """Interleaves each row (one OFDM symbol's coded bits) of `bits`."""
  bits = np.atleast_2d(bits)
  out = np.empty_like(bits)
  out[:, interleave_indices(bits.shape[1], columns, bits_per_subcarrier)] = bits
  return out


def deinterleave(values: np.ndarray, columns: int, bits_per_subcarrier: int) -> np.ndarray:
  values = np.atleast_2d(values)
  return values[:, interleave_indices(values.shape[1], columns, bits_per_subcarrier)]


def map_bits(bits: np.ndarray, bits_per_subcarrier: int) -> np.ndarray:
  """§17.3.5.8 (Table 17-12..17-15, and §21.3.10.9 / §27.3.12.9 for 256/1024-QAM): Gray-coded square QAM, the
  first bit of each axis its sign (0 negative), unit mean power. 1 bit is BPSK (0 -> -1)."""
  bits = np.asarray(bits, np.int64)
  if bits_per_subcarrier == 1:
    return (2 * bits - 1).astype(np.complex64)
  per_axis = bits_per_subcarrier // 2
  groups = bits.reshape(-1, 2, per_axis)  # I bits then Q bits
  index = np.zeros(groups.shape[:2], np.int64)
  gray = np.zeros(groups.shape[:2], np.int64)
  for i in range(per_axis):  # Gray to binary, MSB first
    gray ^= groups[..., i]
    index = index * 2 + gray
  levels = 2 * index - (2 ** per_axis - 1)
  scale = np.sqrt(2 * (4 ** per_axis - 1) / 3)
  return ((levels[:, 0] + 1j * levels[:, 1]) / scale).astype(np.complex64)


def crc8(bits) -> np.ndarray:
  """§19.3.9.4.4: CRC-8 of HT-SIG and VHT-SIG-A: G(D) = D^8 + D^2 + D + 1, register preset to ones, output
  complemented (c7 first)."""
  bits = np.array(bits, np.uint8)
  bits[:8] ^= 1  # a preset register equals flipping the first 8 bits into a zero one
  return 1 - sequences.crc(bits, 0x07, 8)


def lsig_bits(rate_mbps: int, length: int) -> np.ndarray:
  """§17.3.4: RATE, reserved 0, LENGTH (12 bits), even parity over the first 17 bits, six zero tail bits."""
  if rate_mbps not in LSIG_RATE_BITS:
    raise ValueError(f'rate_mbps must be one of {sorted(LSIG_RATE_BITS)}, got {rate_mbps!r}')
  head = list(LSIG_RATE_BITS[rate_mbps]) + [0] + field(length, 12)
  return np.array(head + [sum(head) % 2] + [0] * TAIL_BITS, np.uint8)


def parse_lsig(bits) -> tuple[int, int] | None:
  """(rate_mbps, length) of decoded L-SIG bits, or None when the parity, the reserved bit, the tail or the rate
  is wrong."""
  bits = [int(b) for b in bits]
  if sum(bits[:18]) % 2 or bits[4] or any(bits[18:24]):
    return None
  rate = {v: k for k, v in LSIG_RATE_BITS.items()}.get(tuple(bits[:4]))
  if rate is None:
    return None
  return rate, sum(b << i for i, b in enumerate(bits[5:17]))


def _with_crc(bits: list[int], crc_bits: int = 8) -> np.ndarray:
  return np.array(bits + list(crc8(bits)[:crc_bits]) + [0] * TAIL_BITS, np.uint8)


def htsig_bits(mcs: int, bandwidth_mhz: int, length: int, *, short_gi: bool, aggregation: bool,
               ldpc: bool = False) -> np.ndarray:
  """§19.3.9.4.3 Table 19-11: HT-SIG1 (MCS, CBW 20/40, HT length) and HT-SIG2 (smoothing 1, not sounding 1,
  reserved 1, aggregation, STBC 0, FEC coding, short GI, Ness 0, CRC, tail): 48 bits."""
  sig1 = field(mcs, 7) + [int(bandwidth_mhz == 40)] + field(length, 16)
  sig2 = [1, 1, 1, int(aggregation), 0, 0, int(ldpc), int(short_gi), 0, 0]
  return _with_crc(sig1 + sig2)


def vhtsiga_bits(mcs: int, bandwidth_mhz: int, *, short_gi: bool, partial_aid: int, ldpc: bool = False) -> np.ndarray:
  """§21.3.8.3.3 Table 21-12: VHT-SIG-A1 (BW, reserved 1, STBC 0, group ID 63 for SU, NSTS - 1 = 0, partial AID,
  TXOP_PS_NOT_ALLOWED 0, reserved 1) and VHT-SIG-A2 (short GI, its Nsym disambiguation 0, coding, LDPC extra 0,
  MCS, beamformed 0, reserved 1, CRC, tail): 48 bits."""
  bw = {20: 0, 40: 1, 80: 2, 160: 3}[bandwidth_mhz]
  sig1 = field(bw, 2) + [1, 0] + field(63, 6) + field(0, 3) + field(partial_aid, 9) + [0, 1]
  sig2 = [int(short_gi), 0, int(ldpc), 0] + field(mcs, 4) + [0, 1]
  return _with_crc(sig1 + sig2)


# §27.3.11.7 Table 27-18: GI+LTF Size of an HE SU PPDU for (HE-LTF size, GI µs).
HE_GI_LTF = {(1, 0.8): 0, (2, 0.8): 1, (2, 1.6): 2, (4, 3.2): 3}


def hesiga_bits(mcs: int, bandwidth_mhz: int, *, ltf_size: int, gi_us: float, bss_color: int, txop: int = 127,
                ldpc: bool = True, pre_fec_padding: int = 0) -> np.ndarray:
  """§27.3.11.7 Table 27-18, HE SU PPDU: HE-SIG-A1 (format 1, beam change 1, UL/DL 0, MCS, DCM 0, BSS color,
  reserved 1, spatial reuse 15 (disallowed), bandwidth, GI+LTF size, NSTS 0) and HE-SIG-A2 (TXOP, coding, LDPC
  extra 0, STBC 0, beamformed 0, pre-FEC padding factor, PE disambiguity 0, reserved 1, Doppler 0, the 4-bit
  CRC, tail): 52 bits."""
  bw = {20: 0, 40: 1, 80: 2, 160: 3}[bandwidth_mhz]
  sig1 = ([1, 1, 0] + field(mcs, 4) + [0] + field(bss_color, 6) + [1] + field(15, 4) + field(bw, 2)
          + field(HE_GI_LTF[(ltf_size, gi_us)], 2) + field(0, 3))
  sig2 = field(txop, 7) + [int(ldpc), 0, 0, 0] + field(pre_fec_padding, 2) + [0, 1, 0]
  return _with_crc(sig1 + sig2, crc_bits=4)  # §27.3.11.7.3: c7..c4 of the HT-SIG CRC over bits 0..41
