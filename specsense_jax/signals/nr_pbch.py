"""NR PBCH coding (TS 38.212 §7.1, TS 38.211 §7.3.3, TS 38.331 MIB): the MIB and the timing bits to 864
scrambled bits and back (`nr_mib` decodes them from a recording).

Transmit (`pbch_bits`, L_max 4 or 8): the BCCH-BCH message (a choice bit and the MIB's 23 bits), the SFN's 4
LSBs, the half-frame bit, the k_SSB MSB and two reserved bits interleaved by G (Table 7.1.1-1), scrambled except
for the SFN's 2nd/3rd LSBs and the half-frame bit (§7.1.2, M = A - 3), CRC-24C, the polar code
(`nr_polar`), then PBCH scrambling with the SSB index's LSBs (TS 38.211 §7.3.3.1).
Receive (`decode_pbch`): 864 soft bits descrambled, polar-decoded and the CRC checked; the payload descrambled
and de-interleaved into an `NrMib`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from specsense_jax.signals import nr_polar
from specsense_jax.signals import sequences

PAYLOAD_BITS = 32
# TS 38.212 Table 7.1.1-1: the PBCH payload interleaver pattern G(j).
_G = (16, 23, 18, 17, 8, 30, 10, 6, 24, 7, 0, 5, 3, 2, 1, 4, 9, 11, 12, 13, 14, 15, 19, 20, 21, 22, 25, 26, 27, 28, 29,
      31)
_MIB_LEN = 24  # the choice bit and the MIB's 23 (Ā)


@dataclasses.dataclass(frozen=True)
class NrMib:
  """The MIB (TS 38.331) and the PBCH's timing bits (TS 38.212 §7.1.1).

  Attributes:
    sfn: system frame number 0..1023.
    half_frame: 0 or 1, the half frame the block is in.
    k_ssb: ssb-SubcarrierOffset with its MSB from the timing bits, 0..31 (FR1: 0..23 place the SSB, 24..31 say
      that no CORESET0 goes with it).
    scs_common_khz: subCarrierSpacingCommon, 15 or 30 (FR1).
    dmrs_type_a_position: 2 or 3.
    coreset_zero: controlResourceSetZero, 0..15 (TS 38.213 Tables 13-1..13-10).
    search_space_zero: searchSpaceZero, 0..15 (TS 38.213 Table 13-11).
    cell_barred: cellBarred.
    intra_freq_reselection_allowed: intraFreqReselection = allowed.
    spare: the MIB's spare bit.
  """
  sfn: int = 0
  half_frame: int = 0
  k_ssb: int = 0
  scs_common_khz: int = 30
  dmrs_type_a_position: int = 2
  coreset_zero: int = 0
  search_space_zero: int = 0
  cell_barred: bool = False
  intra_freq_reselection_allowed: bool = True
  spare: int = 0

  def __post_init__(self):
    allowed = {'sfn': range(1024), 'half_frame': (0, 1), 'k_ssb': range(32), 'scs_common_khz': (15, 30),
               'dmrs_type_a_position': (2, 3), 'coreset_zero': range(16), 'search_space_zero': range(16),
               'spare': (0, 1)}
    for name, values in allowed.items():
      if getattr(self, name) not in values:
        raise ValueError(f'{name}={getattr(self, name)!r}: allowed {values}')


def payload(mib: NrMib) -> np.ndarray:
  """a_0..a_31 of TS 38.212 §7.1.1 for L_max = 4 or 8: the BCCH-BCH message (choice bit 0 and the MIB in
  ASN.1 unaligned PER), the SFN's 4th..1st LSBs, the half-frame bit, the k_SSB MSB and two reserved zeros."""
  to_bits = sequences.int_to_bits
  message = ([0] + to_bits(mib.sfn >> 4, 6) + [int(mib.scs_common_khz == 30)] + to_bits(mib.k_ssb & 15, 4)
             + [mib.dmrs_type_a_position - 2] + to_bits(mib.coreset_zero, 4) + to_bits(mib.search_space_zero, 4)
             + [int(not mib.cell_barred), int(not mib.intra_freq_reselection_allowed), mib.spare])
  timing = to_bits(mib.sfn & 15, 4) + [mib.half_frame, mib.k_ssb >> 4, 0, 0]
  return np.array(message + timing, np.uint8)


def parse_payload(a: np.ndarray) -> NrMib:
  """The `NrMib` of a_0..a_31 (the inverse of `payload`); ValueError when the message is not a MIB."""
  a = np.asarray(a).astype(int)
  if a.shape != (PAYLOAD_BITS,):
    raise ValueError(f'PBCH payload: {PAYLOAD_BITS} bits expected, got shape {a.shape}')
  if a[0]:
    raise ValueError('PBCH payload: the BCCH-BCH message is not a MIB (messageClassExtension)')
  value = sequences.bits_to_int
  return NrMib(sfn=(value(a[1:7]) << 4) | value(a[24:28]), half_frame=int(a[28]),
               k_ssb=(int(a[29]) << 4) | value(a[8:12]), scs_common_khz=30 if a[7] else 15,
               dmrs_type_a_position=2 + int(a[12]), coreset_zero=value(a[13:17]),
               search_space_zero=value(a[17:21]), cell_barred=not a[21],
               intra_freq_reselection_allowed=not a[22], spare=int(a[23]))


def _interleaved_positions() -> np.ndarray:
  """For each a_i, its position G(j) in the interleaved payload a' (TS 38.212 §7.1.1)."""
  sfn_bits = list(range(1, 7)) + list(range(_MIB_LEN, _MIB_LEN + 4))
  counters = {'sfn': 0, 'hrf': 10, 'ssb': 11, 'other': 14}
  positions = np.zeros(PAYLOAD_BITS, np.int64)
  for i in range(PAYLOAD_BITS):
    # the last three (k_SSB MSB and two reserved bits below L_max = 64) take the SSB-index places
    kind = ('sfn' if i in sfn_bits else 'hrf' if i == _MIB_LEN + 4 else 'ssb' if i >= _MIB_LEN + 5 else 'other')
    positions[i] = _G[counters[kind]]
    counters[kind] += 1
  return positions


_POSITIONS = _interleaved_positions()
# a' positions never scrambled (§7.1.2): the SFN's 3rd and 2nd LSBs (a_{Ā+1}, a_{Ā+2}) and the half-frame bit
_UNSCRAMBLED = (_POSITIONS[_MIB_LEN + 1], _POSITIONS[_MIB_LEN + 2], _POSITIONS[_MIB_LEN + 4])


def _payload_scrambling(ncellid: int, v: int) -> np.ndarray:
  """s_0..s_31 of §7.1.2 for L_max = 4 or 8 (M = A - 3): c(j + v·M) on the scrambled positions, 0 elsewhere."""
  m = PAYLOAD_BITS - 3
  c = sequences.gold_sequence(ncellid, 4 * m)
  s = np.zeros(PAYLOAD_BITS, np.uint8)
  scrambled = np.setdiff1d(np.arange(PAYLOAD_BITS), _UNSCRAMBLED)
  s[scrambled] = c[v * m + np.arange(len(scrambled))]
  return s


def _pbch_scrambling(ncellid: int, nu: int) -> np.ndarray:
  """c(i + ν·M_bit), i < 864, of TS 38.211 §7.3.3.1 (c_init = N_ID^cell; ν the SSB index LSBs)."""
  return sequences.gold_sequence(ncellid, (nu + 1) * nr_polar.PBCH_E)[nu * nr_polar.PBCH_E:]


def pbch_bits(mib: NrMib, ncellid: int, ssb_index: int, l_max: int = 8) -> np.ndarray:
  """The 864 PBCH bits of block `ssb_index` after TS 38.211 §7.3.3.1 scrambling (L_max 4 or 8)."""
  if l_max not in (4, 8):
    raise ValueError(f'l_max={l_max!r}: 4 or 8 (FR1 below 6 GHz)')
  a = payload(mib)
  interleaved = np.zeros(PAYLOAD_BITS, np.uint8)
  interleaved[_POSITIONS] = a
  v = 2 * int(a[_MIB_LEN + 1]) + int(a[_MIB_LEN + 2])  # the SFN's 3rd and 2nd LSBs
  scrambled = interleaved ^ _payload_scrambling(ncellid, v)
  coded = nr_polar.encode(np.concatenate([scrambled, nr_polar.crc24c(scrambled)]))
  return coded ^ _pbch_scrambling(ncellid, ssb_index % l_max)


def decode_pbch(soft_bits: np.ndarray, ncellid: int, ssb_index_lsbs: int, l_max: int = 8) -> NrMib | None:
  """The `NrMib` of 864 PBCH soft bits (positive for 0) of a block whose SSB index LSBs (2 for L_max = 4, 3 for
  8) are known from its DMRS; None when the CRC fails or the message is no MIB."""
  soft_bits = np.asarray(soft_bits, np.float64)
  if soft_bits.shape != (nr_polar.PBCH_E,):
    raise ValueError(f'soft_bits: {nr_polar.PBCH_E} values expected, got shape {soft_bits.shape}')
  block = nr_polar.decode(soft_bits * (1.0 - 2.0 * _pbch_scrambling(ncellid, ssb_index_lsbs % l_max)))
  scrambled, parity = block[:PAYLOAD_BITS], block[PAYLOAD_BITS:]
  # all zeros passes a zero-register CRC: what silence or an empty band decodes to, never a sent PBCH
  if not block.any() or not np.array_equal(nr_polar.crc24c(scrambled), parity):
    return None
  v = 2 * int(scrambled[_POSITIONS[_MIB_LEN + 1]]) + int(scrambled[_POSITIONS[_MIB_LEN + 2]])
  try:
    return parse_payload((scrambled ^ _payload_scrambling(ncellid, v))[_POSITIONS])
  except ValueError:
    return None
