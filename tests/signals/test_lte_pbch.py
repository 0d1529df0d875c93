"""LTE PBCH channel coding (TS 36.212 §5.3.1, TS 36.211 §6.6): each stage against the standard or a hand
calculation, and encode -> noisy soft bits -> decode for every port count, SFN phase and CP."""

import numpy as np
import pytest

from specsense_jax.signals import lte_pbch


def test_crc16_is_the_ccitt_polynomial():
  # gCRC16 = D^16 + D^12 + D^5 + 1 with a zero register is CRC-16/XMODEM: "123456789" -> 0x31C3
  bits = np.unpackbits(np.frombuffer(b'123456789', np.uint8))
  assert int(''.join(map(str, lte_pbch.crc16(bits))), 2) == 0x31C3
  # the block with its parity appended divides the generator: the parity of the whole is zero
  payload = np.random.default_rng(0).integers(0, 2, 24).astype(np.uint8)
  assert not lte_pbch.crc16(np.concatenate([payload, lte_pbch.crc16(payload)])).any()


def test_port_masks_table_5_3_1_1_1():
  assert not lte_pbch.port_mask(1).any() and lte_pbch.port_mask(2).all()
  assert lte_pbch.port_mask(4).tolist() == [0, 1] * 8
  with pytest.raises(ValueError, match='num_ports=3'):
    lte_pbch.port_mask(3)


def test_mib_fields_in_order():
  mib = lte_pbch.Mib(50, 'normal', 1, sfn=0b1011001110, num_ports=2)
  bits = lte_pbch.mib_bits(mib)
  # dl-Bandwidth n50 (index 3 of 6: 011), phich-Duration normal (0), phich-Resource one (index 2: 10), SFN's 8 MSBs
  assert bits.tolist() == [0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1] + [0] * 10
  assert lte_pbch.parse_mib(bits, sfn_lsbs=0b10, num_ports=2) == mib
  assert lte_pbch.parse_mib(lte_pbch.mib_bits(lte_pbch.Mib(6, 'extended', 1 / 6, 4))).phich_resource == 1 / 6
  with pytest.raises(ValueError, match='dl-Bandwidth code 7'):
    lte_pbch.parse_mib(np.array([1, 1, 1] + [0] * 21))
  with pytest.raises(ValueError, match=r'bandwidth_rb=52: the MIB allows \(6, 15, 25, 50, 75, 100\)'):
    lte_pbch.Mib(52)


def test_convolutional_code_impulse_response_is_the_generators():
  # a single 1 at position k: stream j carries generator j's taps (octal 133, 171, 165, current input first)
  bits = np.zeros(40, np.uint8)
  bits[38] = 1  # near the end: the tail-biting register wraps it to the start
  coded = lte_pbch.conv_encode(bits)
  taps = [[1, 0, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 0, 1], [1, 1, 1, 0, 1, 0, 1]]
  for stream, tap in zip(coded, taps):
    assert stream[(38 + np.arange(7)) % 40].tolist() == tap and stream.sum() == sum(tap)
  assert not lte_pbch.conv_encode(np.zeros(40, np.uint8)).any()


def test_rate_matching_subblock_interleaver():
  # D = 40: 2 rows of 32 with 24 <NULL> first; column 1 (first in Table 5.1.4-2) holds <NULL>, d_9; column 17:
  # <NULL>, d_25; column 9: <NULL>, d_17; column 25: d_1, d_33
  indices = lte_pbch._rate_match_indices(40, 1920)  # pylint: disable=protected-access
  assert indices[:5].tolist() == [9, 25, 17, 1, 33]
  assert indices[40:42].tolist() == [40 + 9, 40 + 25]  # then stream 1 the same way
  assert np.bincount(indices).tolist() == [16] * 120  # 1920 bits: every coded bit 16 times


def test_viterbi_corrects_errors():
  rng = np.random.default_rng(1)
  for _ in range(5):
    bits = rng.integers(0, 2, 40).astype(np.uint8)
    soft = 1.0 - 2.0 * lte_pbch.conv_encode(bits)
    flips = rng.choice(120, 6, replace=False)  # free distance 15: a few hard errors are corrected
    soft.reshape(-1)[flips] *= -1
    np.testing.assert_array_equal(lte_pbch.viterbi_tail_biting(soft), bits)


@pytest.mark.parametrize('cp', ['normal', 'extended'])
@pytest.mark.parametrize('num_ports', [1, 2, 4])
def test_encode_then_decode_every_frame_of_the_sfn_cycle(cp, num_ports):
  rng = np.random.default_rng(num_ports)
  ncellid = 311
  for sfn in (0, 513, 1022, 1023):
    mib = lte_pbch.Mib(75, 'extended', 2, sfn=sfn, num_ports=num_ports, spare=0)
    bits = lte_pbch.pbch_bits(mib, ncellid, cp)[sfn % 4]
    soft = (1.0 - 2.0 * bits) + rng.normal(scale=1.0, size=bits.shape)  # 0 dB per bit: 4 repeats + the code
    assert lte_pbch.decode_pbch_frame(soft, ncellid, cp) == mib
  assert lte_pbch.decode_pbch_frame(soft, ncellid + 1, cp) is None  # another cell's scrambling: no CRC passes
  assert lte_pbch.decode_pbch_frame(np.zeros_like(soft), ncellid, cp) is None  # silence: the all-zero block
  symbols = lte_pbch.pbch_symbols(mib, ncellid, cp)
  assert symbols.shape == (num_ports, lte_pbch.PBCH_BITS[cp] // 8)
  with pytest.raises(ValueError, match='soft_bits: '):
    lte_pbch.decode_pbch_frame(soft[:-1], ncellid, cp)
