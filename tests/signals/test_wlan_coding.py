"""802.11 bit processing against the standard: BCC generators, the Annex I SIGNAL example, interleaver, scrambler
and pilot polarity, constellations, CRC-8."""

import numpy as np
import pytest

from specsense_jax.signals import wlan_coding

# IEEE 802.11-2020 Annex I.1.4 (the 36 Mb/s, 100-byte example): SIGNAL bits, coded (Table I-8), interleaved
# (Table I-9).
ANNEX_SIGNAL = '101100010011000000000000'
ANNEX_CODED = '110100011010000100000010001111100111000000000000'
ANNEX_INTERLEAVED = '100101001101000000010100100000110010010010010100'
# §17.3.5.10 Equation 17-25: the first 24 pilot polarities p_0..p_23.
P_N_HEAD = (1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, -1, 1, 1, -1, 1, -1, -1, 1, 1, -1, 1, 1, -1)


def _bits(text):
  return np.array([int(c) for c in text], np.uint8)


def test_bcc_impulse_response_is_the_generators():
  # One 1 then zeros: output A reads g0 = 133 (1011011), output B g1 = 171 (1111001), MSB first.
  coded = wlan_coding.bcc_encode(np.array([1, 0, 0, 0, 0, 0, 0], np.uint8))
  np.testing.assert_array_equal(coded[0::2], _bits('1011011'))
  np.testing.assert_array_equal(coded[1::2], _bits('1111001'))


def test_annex_signal_field_is_encoded_and_interleaved_as_the_standard_shows():
  bits = wlan_coding.lsig_bits(36, 100)
  np.testing.assert_array_equal(bits, _bits(ANNEX_SIGNAL))
  coded = wlan_coding.bcc_encode(bits)
  np.testing.assert_array_equal(coded, _bits(ANNEX_CODED))
  np.testing.assert_array_equal(wlan_coding.interleave(coded, 16, 1)[0], _bits(ANNEX_INTERLEAVED))
  assert wlan_coding.parse_lsig(bits) == (36, 100)
  damaged = bits.copy()
  damaged[7] ^= 1  # one LENGTH bit: the parity fails
  assert wlan_coding.parse_lsig(damaged) is None


@pytest.mark.parametrize('rate,kept', [('1/2', 2), ('2/3', 3 / 2), ('3/4', 4 / 3), ('5/6', 6 / 5)])
def test_punctured_bcc_round_trips_and_keeps_the_rates_share(rate, kept):
  rng = np.random.default_rng(0)
  bits = np.concatenate([rng.integers(0, 2, 114), np.zeros(6, np.int64)]).astype(np.uint8)
  coded = wlan_coding.bcc_encode(bits, rate)
  assert len(coded) == int(len(bits) * kept)
  soft = 1.0 - 2.0 * coded + rng.normal(0, 0.5, len(coded))
  np.testing.assert_array_equal(wlan_coding.bcc_decode(soft, len(bits), rate), bits)


def test_interleaver_follows_the_two_permutations():
  # §17.3.5.7 with N_CBPS = 192, N_BPSC = 4 (16-QAM), s = 2, written out for a few k by hand.
  j = wlan_coding.interleave_indices(192, 16, 4)
  assert sorted(j) == list(range(192))
  # k = 1: i = 12·1 + 0 = 12; j = 2·6 + (12 + 192 - 1) mod 2 = 12 + 1 = 13. k = 16: i = 1; j = 0 + (1 + 192) mod 2 = 1.
  assert j[1] == 13 and j[16] == 1 and j[0] == 0
  values = np.arange(192)
  np.testing.assert_array_equal(wlan_coding.deinterleave(wlan_coding.interleave(values, 16, 4), 16, 4)[0], values)


def test_pilot_polarity_is_the_standards_sequence():
  p = wlan_coding.pilot_polarity()
  assert len(p) == 127 and tuple(p[:24]) == P_N_HEAD
  assert p.sum() == -1  # an m-sequence of length 127: 63 ones become -1, 64 zeros +1


def test_constellations_are_the_standards_gray_maps():
  # Table 17-14 (16-QAM): b0b1 = 00 -> -3, 01 -> -1, 11 -> 1, 10 -> 3; Table 17-15 (64-QAM) 100 -> 7, 010 -> -1.
  levels = lambda bits, n: np.round(wlan_coding.map_bits(np.array(bits), n).real * np.sqrt(
      {4: 10, 6: 42}[n])).astype(int)
  assert list(levels([0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0], 4)) == [-3, -1, 1, 3]
  assert list(levels([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 6)) == [7, -1]
  assert list(wlan_coding.map_bits(np.array([0, 1]), 1).real) == [-1, 1]
  for n in (2, 4, 6, 8, 10):  # every bit pattern once: distinct points of unit mean power
    every = ((np.arange(2 ** n)[:, None] >> np.arange(n)[::-1]) & 1).reshape(-1)
    points = wlan_coding.map_bits(every, n)
    assert len(np.unique(np.round(points, 5))) == 2 ** n
    assert abs(np.mean(np.abs(points) ** 2) - 1) < 1e-6


def _crc8_by_polynomials(bits):
  """§19.3.9.4.4 as written: the ones' complement of the remainder of x^8·M(x) + x^k·(x^7 + ... + 1) divided
  by x^8 + x^2 + x + 1, for the k message bits M (first bit the highest power), in integer polynomial
  arithmetic."""
  k = len(bits)
  m = int(''.join(str(int(b)) for b in bits), 2)
  dividend = (m << 8) ^ (0xFF << k)
  g = 0x107
  for shift in range(dividend.bit_length() - 9, -1, -1):
    if dividend >> (shift + 8) & 1:
      dividend ^= g << shift
  return [1 - int(c) for c in format(dividend, '08b')]


def test_crc8_is_the_standards_definition():
  rng = np.random.default_rng(2)
  for length in (34, 34, 34, 42):
    bits = rng.integers(0, 2, length)
    assert list(wlan_coding.crc8(bits)) == _crc8_by_polynomials(bits)


def test_signal_fields_carry_their_values_lsb_first():
  ht = wlan_coding.htsig_bits(5, 40, 1500, short_gi=True, aggregation=False)
  assert len(ht) == 48 and list(ht[:7]) == [1, 0, 1, 0, 0, 0, 0] and ht[7] == 1
  assert sum(int(b) << i for i, b in enumerate(ht[8:24])) == 1500 and ht[24 + 7] == 1  # short GI
  assert list(ht[34:42]) == list(wlan_coding.crc8(ht[:34])) and not ht[42:].any()
  he = wlan_coding.hesiga_bits(11, 80, ltf_size=2, gi_us=1.6, bss_color=37)
  assert len(he) == 52 and list(he[:2]) == [1, 1] and sum(int(b) << i for i, b in enumerate(he[3:7])) == 11
  assert sum(int(b) << i for i, b in enumerate(he[8:14])) == 37 and list(he[19:21]) == [0, 1]  # BW 80 = 2
  assert list(he[42:46]) == list(wlan_coding.crc8(he[:42])[:4])
  with pytest.raises(ValueError, match='rate_mbps must be one of'):
    wlan_coding.lsig_bits(7, 10)
