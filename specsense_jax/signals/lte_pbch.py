"""LTE broadcast channel coding (TS 36.212 §5.3.1, TS 36.211 §6.6, TS 36.331 §6.2.2), both ways.

Transmit: the MasterInformationBlock's 24 bits, CRC-16 masked by the antenna-port count, tail-biting
convolutional code (rate 1/3, K = 7), rate matching to 1920 bits (normal CP; 1728 extended) spread over four
radio frames, cell-specific scrambling, QPSK and transmit diversity: `pbch_symbols`.
Receive: soft bits of one radio frame's PBCH, descrambled for each of the four frame positions, the rate
matching undone by combining the repetitions, maximum-likelihood tail-biting Viterbi decoding and the CRC
checked against each port mask: `decode_pbch_frame`. The CRC tells which hypothesis is right; a false pass has
probability about 3 · 4 / 65536 per frame.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from specsense_jax.signals import conv_code
from specsense_jax.signals import lte_control
from specsense_jax.signals import sequences

MIB_BITS = 24
CRC_BITS = 16
CODED_BITS = 3 * (MIB_BITS + CRC_BITS)  # 120 after the rate-1/3 code
# TS 36.331 §6.2.2 MasterInformationBlock: dl-Bandwidth ENUMERATED {n6, n15, n25, n50, n75, n100}.
DL_BANDWIDTHS_RB = (6, 15, 25, 50, 75, 100)
# phich-Resource ENUMERATED {oneSixth, half, one, two}: N_g.
PHICH_RESOURCES = (1 / 6, 1 / 2, 1, 2)
# TS 36.212 §5.3.1.3: E = 1920 bits for normal CP, 1728 for extended, over four radio frames.
PBCH_BITS = {'normal': 1920, 'extended': 1728}
# TS 36.212 §5.1.3.1: generator polynomials 133, 171, 165 (octal); the MSB taps the current input bit.
_GENERATORS = (0o133, 0o171, 0o165)
_CONSTRAINT = 7
# TS 36.212 Table 5.1.4-2: inter-column permutation of the convolutional code's sub-block interleaver.
_CC_PERMUTATION = (1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
                   0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30)
# TS 36.212 §5.1.1: gCRC16(D) = D^16 + D^12 + D^5 + 1.
_CRC16 = 0x1021


@dataclasses.dataclass(frozen=True)
class Mib:
  """The MasterInformationBlock (TS 36.331 §6.2.2) and what its decoding tells besides.

  Attributes:
    bandwidth_rb: downlink bandwidth in resource blocks (6, 15, 25, 50, 75 or 100).
    phich_duration: 'normal' or 'extended'.
    phich_resource: N_g, one of 1/6, 1/2, 1, 2.
    sfn: system frame number 0..1023 (its 8 MSBs are in the MIB, the 2 LSBs in the scrambling phase).
    num_ports: CRS antenna ports, from the CRC mask (1, 2 or 4).
    spare: the last 10 bits (schedulingInfoSIB1-BR-r13, systemInfoUnchanged-BR-r15, spare) as an integer.
  """
  bandwidth_rb: int
  phich_duration: str = 'normal'
  phich_resource: float = 1.0
  sfn: int = 0
  num_ports: int = 1
  spare: int = 0

  def __post_init__(self):
    if self.bandwidth_rb not in DL_BANDWIDTHS_RB:
      raise ValueError(f'bandwidth_rb={self.bandwidth_rb!r}: the MIB allows {DL_BANDWIDTHS_RB}')
    if self.phich_duration not in ('normal', 'extended'):
      raise ValueError(f"phich_duration={self.phich_duration!r}: 'normal' or 'extended'")
    if not any(np.isclose(self.phich_resource, g) for g in PHICH_RESOURCES):
      raise ValueError(f'phich_resource={self.phich_resource!r}: one of 1/6, 1/2, 1, 2')
    if not 0 <= self.sfn < 1024:
      raise ValueError(f'sfn={self.sfn!r}: 0..1023')
    if self.num_ports not in (1, 2, 4):
      raise ValueError(f'num_ports={self.num_ports!r}: 1, 2 or 4')
    if not 0 <= self.spare < 1024:
      raise ValueError(f'spare={self.spare!r}: 10 bits')


def mib_bits(mib: Mib) -> np.ndarray:
  """The MIB's 24 payload bits a_0..a_23, first bit first (ASN.1 unaligned PER, TS 36.331 §6.2.2)."""
  resource = int(np.argmin([abs(mib.phich_resource - g) for g in PHICH_RESOURCES]))
  to_bits = sequences.int_to_bits
  bits = (to_bits(DL_BANDWIDTHS_RB.index(mib.bandwidth_rb), 3) + [int(mib.phich_duration == 'extended')]
          + to_bits(resource, 2) + to_bits(mib.sfn >> 2, 8) + to_bits(mib.spare, 10))
  return np.array(bits, np.uint8)


def parse_mib(bits: np.ndarray, *, sfn_lsbs: int = 0, num_ports: int = 1) -> Mib:
  """The `Mib` of 24 payload bits (the inverse of `mib_bits`); the SFN's two LSBs and the port count come from
  the decoding. A `dl-Bandwidth` code beyond n100 raises ValueError."""
  bits = np.asarray(bits).astype(int)
  if bits.shape != (MIB_BITS,):
    raise ValueError(f'MIB bits: {MIB_BITS} expected, got shape {bits.shape}')
  value = sequences.bits_to_int
  code = value(bits[:3])
  if code >= len(DL_BANDWIDTHS_RB):
    raise ValueError(f'MIB dl-Bandwidth code {code}: only 0..5 (n6..n100) exist')
  return Mib(DL_BANDWIDTHS_RB[code], 'extended' if bits[3] else 'normal', PHICH_RESOURCES[value(bits[4:6])],
             (value(bits[6:14]) << 2) | sfn_lsbs, num_ports, value(bits[14:24]))


def crc16(bits: np.ndarray) -> np.ndarray:
  """The 16 parity bits p_0..p_15 of TS 36.212 §5.1.1 (gCRC16; zero initial state, first bit first)."""
  return sequences.crc(bits, _CRC16, 16)


def port_mask(num_ports: int) -> np.ndarray:
  """The CRC mask x_ant of TS 36.212 Table 5.3.1.1-1: all 0 (one port), all 1 (two), 0101... (four)."""
  masks = {1: np.zeros(16, np.uint8), 2: np.ones(16, np.uint8), 4: np.tile(np.array([0, 1], np.uint8), 8)}
  if num_ports not in masks:
    raise ValueError(f'num_ports={num_ports!r}: 1, 2 or 4')
  return masks[num_ports]


def conv_encode(bits: np.ndarray) -> np.ndarray:
  """Tail-biting convolutional code of TS 36.212 §5.1.3.1: (3, K) streams d^(0), d^(1), d^(2), the shift register
  starting with the last six input bits."""
  return conv_code.encode(bits, _GENERATORS, _CONSTRAINT, tail_biting=True)


def viterbi_tail_biting(soft: np.ndarray) -> np.ndarray:
  """Maximum-likelihood tail-biting decoding of `conv_encode`'s code.

  Args:
    soft: (3, K) soft values, positive for bit 0 (log-likelihood ratios or anything proportional).
  Returns:
    The K decoded bits: every start state is tried, the path must end where it started, the best metric wins.
  """
  return conv_code.viterbi(soft, _GENERATORS, _CONSTRAINT, tail_biting=True)


@functools.lru_cache(maxsize=None)
def _rate_match_indices(num_bits: int, e: int) -> np.ndarray:
  """For each of the E rate-matched bits, its index into the 3·D coded bits (stream-major) (TS 36.212
  §5.1.4.2: sub-block interleaving of each stream, bit collection, circular selection skipping <NULL>)."""
  columns = len(_CC_PERMUTATION)
  rows = -(-num_bits // columns)
  pad = rows * columns - num_bits
  y = np.concatenate([np.full(pad, -1), np.arange(num_bits)]).reshape(rows, columns)
  v = y[:, _CC_PERMUTATION].T.reshape(-1)  # read column by column after permuting the columns
  w = np.concatenate([np.where(v < 0, -1, v + i * num_bits) for i in range(3)])
  w = w[w >= 0]
  return w[np.arange(e) % len(w)]


def rate_match(coded: np.ndarray, e: int) -> np.ndarray:
  """The E transmitted bits of (3, D) coded streams."""
  coded = np.asarray(coded)
  return coded.reshape(-1)[_rate_match_indices(coded.shape[1], e)]


def scrambling(ncellid: int, cp: str = 'normal') -> np.ndarray:
  """c(i) over the M_bit bits of four radio frames, c_init = N_ID^cell (TS 36.211 §6.6.1)."""
  if cp not in PBCH_BITS:
    raise ValueError(f"cp must be 'normal' or 'extended', got {cp!r}")
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503], got {ncellid!r}')
  return sequences.gold_sequence(ncellid, PBCH_BITS[cp]).astype(np.uint8)


def pbch_bits(mib: Mib, ncellid: int, cp: str = 'normal') -> np.ndarray:
  """(4, E/4) scrambled PBCH bits of the radio frames with SFN mod 4 = 0..3 (the MIB's SFN decides which is
  sent now: row `mib.sfn % 4`)."""
  payload = mib_bits(mib)
  block = np.concatenate([payload, crc16(payload) ^ port_mask(mib.num_ports)])
  e = PBCH_BITS[cp]
  return (rate_match(conv_encode(block), e) ^ scrambling(ncellid, cp)).reshape(4, e // 4)


def pbch_symbols(mib: Mib, ncellid: int, cp: str = 'normal') -> np.ndarray:
  """(num_ports, E/8) precoded QPSK symbols of the radio frame whose SFN is `mib.sfn`, in the order they map to
  the PBCH resource elements (TS 36.211 §6.6.4: subcarrier first, then symbol, CRS of four ports skipped)."""
  bits = pbch_bits(mib, ncellid, cp)[mib.sfn % 4]
  return lte_control.transmit_diversity(sequences.qpsk_from_bits(bits), mib.num_ports)


def decode_pbch_frame(soft_bits: np.ndarray, ncellid: int, cp: str = 'normal', *,
                      num_ports: int | None = None) -> Mib | None:
  """Decodes one radio frame's PBCH soft bits (E/4 values in RE order, positive for bit 0).

  Each of the four scrambling phases (SFN mod 4) is descrambled, the repetitions combined and Viterbi-decoded;
  the first phase whose CRC matches a port mask (only that of `num_ports` when given: the count the soft bits
  were combined for) and whose MIB is valid gives the `Mib` (SFN LSBs from the phase, ports from the mask).
  Returns None when no phase and mask pass.
  """
  soft_bits = np.asarray(soft_bits, np.float64)
  e = len(scrambling(ncellid, cp))  # checks cp and ncellid
  if soft_bits.shape != (e // 4,):
    raise ValueError(f'soft_bits: {e // 4} values for {cp} CP, got shape {soft_bits.shape}')
  c = scrambling(ncellid, cp).reshape(4, e // 4)
  num_bits = MIB_BITS + CRC_BITS
  for phase in range(4):
    descrambled = soft_bits * (1.0 - 2.0 * c[phase])
    positions = _rate_match_indices(num_bits, e)[phase * (e // 4):(phase + 1) * (e // 4)]
    combined = np.bincount(positions, weights=descrambled, minlength=3 * num_bits).reshape(3, num_bits)
    block = viterbi_tail_biting(combined)
    if not block.any():  # passes the one-port CRC: what silence decodes to, not a sent MIB
      continue
    mask = crc16(block[:MIB_BITS]) ^ block[MIB_BITS:]
    for ports in (1, 2, 4) if num_ports is None else (num_ports,):
      if np.array_equal(mask, port_mask(ports)):
        try:
          return parse_mib(block[:MIB_BITS], sfn_lsbs=phase, num_ports=ports)
        except ValueError:  # a CRC passed by chance on a dl-Bandwidth code that does not exist
          continue
  return None
