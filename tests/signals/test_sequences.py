"""Pseudo-random, synchronization sequences and QAM against TS 38.211 / 36.211 and reference vectors."""

import numpy as np
import pytest

from specsense_jax.signals import sequences


def _gold_literal(c_init, length):
  """TS 38.211 §5.2.1 written out bit by bit, independent of the vectorized implementation."""
  nc = 1600
  x1 = [1] + [0] * 30
  x2 = [(c_init >> i) & 1 for i in range(31)]
  for n in range(nc + length):
    x1.append((x1[n + 3] + x1[n]) % 2)
    x2.append((x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) % 2)
  return np.array([(x1[n + nc] + x2[n + nc]) % 2 for n in range(length)])


@pytest.mark.parametrize('c_init', [0, 1, 5, 12345, 2**31 - 1, 1 << 30])
def test_gold_sequence_matches_spec_recursion(c_init):
  np.testing.assert_array_equal(sequences.gold_sequence(c_init, 700), _gold_literal(c_init, 700))


def test_gold_sequence_vectorized_over_initializations():
  c_inits = np.array([[3, 99], [2**20, 7]])
  out = sequences.gold_sequence(c_inits, 50)
  assert out.shape == (2, 2, 50)
  np.testing.assert_array_equal(out[1, 0], _gold_literal(2**20, 50))


def test_gold_sequence_matches_reference_vector(refvectors):
  ref = refvectors.load_integers('test_gold.outfile.ground')
  np.testing.assert_array_equal(sequences.gold_sequence(5, len(ref)), ref)


def test_gold_rejects_out_of_range_init():
  with pytest.raises(ValueError, match='c_init'):
    sequences.gold_sequence(2**31, 10)


def _m_seq_literal(taps, init):
  x = list(init)
  for i in range(127 - 7):
    x.append(sum(x[i + t] for t in taps) % 2)
  return np.array(x)


def test_nr_pss_first_values_by_hand():
  # x(6..0) = [1 1 1 0 1 1 0] -> x(0..6) = 0 1 1 0 1 1 1 -> d = 1 - 2x for N_ID2 = 0.
  np.testing.assert_array_equal(sequences.nr_pss(0)[:7], [1, -1, -1, 1, -1, -1, -1])


def test_nr_pss_and_sss_match_spec_for_every_pci():
  x = _m_seq_literal((0, 4), [0, 1, 1, 0, 1, 1, 1])
  x0 = _m_seq_literal((0, 4), [1, 0, 0, 0, 0, 0, 0])
  x1 = _m_seq_literal((0, 1), [1, 0, 0, 0, 0, 0, 0])
  n = np.arange(127)
  for n_id2 in range(3):
    np.testing.assert_array_equal(sequences.nr_pss(n_id2), 1 - 2 * x[(n + 43 * n_id2) % 127])
  for pci in range(1008):
    n_id1, n_id2 = pci // 3, pci % 3
    m0, m1 = 15 * (n_id1 // 112) + 5 * n_id2, n_id1 % 112
    expected = (1 - 2 * x0[(n + m0) % 127]) * (1 - 2 * x1[(n + m1) % 127])
    np.testing.assert_array_equal(sequences.nr_sss(pci), expected, err_msg=f'PCI {pci}')


def test_nr_sss_distinct_for_all_pcis():
  all_sss = np.stack([sequences.nr_sss(p) for p in range(1008)])
  assert len(np.unique(all_sss, axis=0)) == 1008


def test_lte_pss_is_zadoff_chu_without_middle():
  for n_id2, u in enumerate((25, 29, 34)):
    zc = np.exp(-1j * np.pi * u * np.arange(63) * np.arange(1, 64) / 63)
    np.testing.assert_allclose(sequences.lte_pss(n_id2), np.delete(zc, 31), atol=1e-5)


def test_lte_pss_sss_match_reference_vectors(refvectors):
  pss = refvectors.load_ground('test_pss.outfile.ground')
  np.testing.assert_allclose(refvectors.quantize(sequences.lte_pss(2), 30000), pss, atol=1.01)
  sss = refvectors.load_ground('test_sss.outfile.ground')  # NCellID 11: subframe 0 then 5
  np.testing.assert_array_equal(np.concatenate([sequences.lte_sss(11, 0), sequences.lte_sss(11, 5)]) * 30000,
                                sss)


def test_lte_sss_literal_spec_for_all_cells():
  def lfsr5(taps):
    x = [0, 0, 0, 0, 1]
    for i in range(26):
      x.append(sum(x[i + t] for t in taps) % 2)
    return 1 - 2 * np.array(x)
  s, c, z = lfsr5((0, 2)), lfsr5((0, 3)), lfsr5((0, 1, 2, 4))
  n = np.arange(31)
  for pci in range(0, 504, 7):
    n_id1, n_id2 = divmod(pci, 3)
    qp = n_id1 // 30
    q = (n_id1 + qp * (qp + 1) // 2) // 30
    mp = n_id1 + q * (q + 1) // 2
    m0, m1 = mp % 31, (mp % 31 + mp // 31 + 1) % 31
    even = s[(n + m0) % 31] * c[(n + n_id2) % 31]
    odd = s[(n + m1) % 31] * c[(n + n_id2 + 3) % 31] * z[(n + m0 % 8) % 31]
    np.testing.assert_array_equal(sequences.lte_sss(pci, 0)[0::2], even)
    np.testing.assert_array_equal(sequences.lte_sss(pci, 0)[1::2], odd)


def test_qam_matches_ts38211_tables():
  # 16QAM (TS 38.211 §5.1.4): ((1-2b0)(2-(1-2b2)) + j(1-2b1)(2-(1-2b3))) / sqrt(10)
  bits = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0])
  np.testing.assert_allclose(sequences.qam_from_bits(bits, '16qam') * np.sqrt(10), [1 + 1j, -3 - 3j, 3 - 1j],
                             atol=1e-5)
  # 64QAM: (1-2b0)(4-(1-2b2)(2-(1-2b4))) / sqrt(42); bits 000000 -> 3 + 3j, 101010 -> -5 + 3j... by hand:
  # I: b0=1,b2=1,b4=1 -> -(4 - (-1)(2 - (-1))) = -(4 + 3) = -7; Q: b1=b3=b5=0 -> 4 - 1 = 3.
  np.testing.assert_allclose(sequences.qam_from_bits(np.array([1, 0, 1, 0, 1, 0]), '64qam') * np.sqrt(42),
                             [-7 + 3j], atol=1e-5)
  np.testing.assert_allclose(sequences.qam_from_bits(np.array([0, 1]), 'qpsk'), [(1 - 1j) / np.sqrt(2)])


@pytest.mark.parametrize('modulation,points', [('qpsk', 4), ('16qam', 16), ('64qam', 64), ('256qam', 256)])
def test_qam_constellations_unit_power(modulation, points):
  q = sequences.MODULATION_ORDERS[modulation]
  all_bits = (np.arange(points)[:, None] >> np.arange(q)[::-1]) & 1
  symbols = sequences.qam_from_bits(all_bits.reshape(-1), modulation)
  assert len(np.unique(np.round(symbols, 5))) == points
  assert np.mean(np.abs(symbols) ** 2) == pytest.approx(1.0, rel=1e-5)


def test_qam_rejects_unknown_modulation():
  with pytest.raises(ValueError, match='modulation'):
    sequences.qam_from_bits(np.zeros(4), '8psk')
