"""NR PBCH (TS 38.212 §7.1, §5.3.1, TS 38.211 §7.3.3): the polar code and payload stages against the standard's
structure, encode -> noisy soft bits -> decode, known-answer vectors of an independent encoder (py3gpp), and the
MIBs of the real NR captures, whose CRC-24C passing is the check that every stage and table agrees with the
networks that sent them."""

import json
import pathlib

import numpy as np
import pytest

from specsense_jax.signals import nr_mib
from specsense_jax.signals import nr_pbch
from specsense_jax.signals import nr_polar
from specsense_jax.signals import nr_receiver


def test_polar_code_structure():
  # G_N = [[G, 0], [G, G]]: u = e_{N-1} encodes to all ones, u = e_0 to a single one at 0
  unit = np.zeros(512, np.uint8)
  unit[-1] = 1
  assert nr_polar.polar_transform(unit).all()
  unit[:] = 0
  unit[0] = 1
  assert nr_polar.polar_transform(unit).tolist() == [1] + [0] * 511
  info = nr_polar.information_set(56, 512)
  assert len(info) == 56 and 511 in info and 0 not in info  # the most reliable position is N - 1
  assert sorted(nr_polar.input_interleaver(56)) == list(range(56))
  payload = np.random.default_rng(0).integers(0, 2, 32).astype(np.uint8)
  assert not nr_polar.crc24c(np.concatenate([payload, nr_polar.crc24c(payload)])).any()


def test_payload_layout():
  mib = nr_pbch.NrMib(sfn=0b1011001110, half_frame=1, k_ssb=0b10110, scs_common_khz=30, dmrs_type_a_position=3,
                      coreset_zero=12, search_space_zero=2, cell_barred=False, intra_freq_reselection_allowed=True)
  a = nr_pbch.payload(mib)
  # choice bit, SFN's 6 MSBs, SCS common (30 kHz: 1), k_SSB's 4 LSBs, DMRS type A position 3 (1), CORESET0,
  # search space 0, cellBarred notBarred (1), intraFreqReselection allowed (0), spare; SFN's 4 LSBs, half frame,
  # k_SSB MSB, two reserved
  assert a.tolist() == ([0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0]
                        + [1, 1, 1, 0, 1, 1, 0, 0])
  assert nr_pbch.parse_payload(a) == mib
  # G of Table 7.1.1-1: the SFN's MSB goes to G(0) = 16, the half-frame bit to G(10) = 0, the choice bit to G(14) = 1
  positions = nr_pbch._POSITIONS  # pylint: disable=protected-access
  assert (positions[1], positions[28], positions[0]) == (16, 0, 1) and sorted(positions) == list(range(32))
  with pytest.raises(ValueError, match='k_ssb=32'):
    nr_pbch.NrMib(k_ssb=32)


@pytest.mark.parametrize('l_max', [4, 8])
def test_encode_then_decode(l_max):
  rng = np.random.default_rng(l_max)
  for ssb_index in range(0, l_max, 3):
    mib = nr_pbch.NrMib(sfn=int(rng.integers(1024)), half_frame=int(rng.integers(2)), k_ssb=int(rng.integers(24)),
                        coreset_zero=int(rng.integers(16)), search_space_zero=int(rng.integers(16)))
    bits = nr_pbch.pbch_bits(mib, 517, ssb_index, l_max)
    soft = 1.0 - 2.0 * bits + rng.normal(scale=0.8, size=bits.shape)
    assert nr_pbch.decode_pbch(soft, 517, ssb_index, l_max) == mib
  assert nr_pbch.decode_pbch(soft, 518, ssb_index, l_max) is None  # another cell's scrambling
  assert nr_pbch.decode_pbch(np.zeros(864), 517, ssb_index, l_max) is None  # silence: the all-zero block


# file, rate, SCS kHz, SSB centre (Hz from the capture centre), PCI: README of ../shared/realdata; the MIB each
# decodes to (its CRC-24C passes)
REAL = [
    ('nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', 46.08e6, 30, 9.84e6, 500,
     nr_pbch.NrMib(sfn=978, k_ssb=31, scs_common_khz=15, cell_barred=True)),  # k_SSB > 23: no CORESET0 (NSA-like)
    ('nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin', 184.32e6, 30, 25.59e6, 579,
     nr_pbch.NrMib(sfn=454, k_ssb=14, coreset_zero=12, search_space_zero=2)),
    ('nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', 46.08e6, 30, -14.22e6, 1,
     nr_pbch.NrMib(sfn=512, k_ssb=12, coreset_zero=3, intra_freq_reselection_allowed=False)),
    ('nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', 23.04e6, 15, -7.35e6, 1,
     nr_pbch.NrMib(sfn=327, k_ssb=2, scs_common_khz=15, coreset_zero=1, intra_freq_reselection_allowed=False)),
]


@pytest.mark.parametrize('name,rate,scs,offset,pci,mib', REAL)
def test_real_captures(shared_dir, name, rate, scs, offset, pci, mib):
  iq = np.fromfile(shared_dir / 'realdata/captures' / name, np.complex64)
  cell = nr_receiver.detect_nr_cell(iq, rate, scs, offset)
  assert cell['ncellid'] == pci
  decoded = nr_mib.decode_ssb(iq, rate, ncellid=pci, scs_khz=scs, ssb_offset_hz=offset, pss_start=cell['pss_start'])
  assert decoded.mib == mib and decoded.ssb_index == 0


@pytest.mark.parametrize('load,bandwidth,scs,rate', [('matlab', 20, 30, 30.72e6), ('light', 40, 30, 61.44e6),
                                                     ('idle', 10, 15, 15.36e6)])
def test_generated_cells_carry_their_mib(load, bandwidth, scs, rate):
  from specsense_jax.signals import nr  # pylint: disable=g-import-not-at-top
  source = nr.nr_source(bandwidth, scs, ncellid=123, seed=4, duration_s=0.02, load=load)
  wave = nr.nr_waveform(bandwidth, scs, ncellid=123, seed=4, sample_rate=rate, duration_s=0.02, load=load)
  offset = (source.ssb_subcarrier - 6 * wave.params['n_rb']) * scs * 1e3
  # at 20 dB SNR (the PSS search normalises by the window's energy, which a clean idle grid leaves at zero)
  iq = wave.iq / np.sqrt(np.mean(np.abs(wave.iq) ** 2))
  iq = iq + np.random.default_rng(0).normal(size=(len(iq), 2)) @ [0.07, 0.07j]
  cell = nr_receiver.detect_nr_cell(iq, rate, scs, offset)
  assert cell['ncellid'] == 123
  decoded = nr_mib.decode_ssb(iq, rate, ncellid=123, scs_khz=scs, ssb_offset_hz=offset, pss_start=cell['pss_start'])
  p = wave.params
  if load == 'matlab':  # no CORESET0 (no SIB1): k_SSB 31
    assert (decoded.mib.k_ssb, decoded.mib.scs_common_khz) == (31, scs)
  else:
    frame = int(cell['pss_start'] // int(rate * 0.01))
    assert decoded.mib == nr_pbch.NrMib(sfn=(p['sfn0'] + frame) % 1024, k_ssb=p['k_ssb'], scs_common_khz=scs,
                                        coreset_zero=p['coreset0_index'], search_space_zero=p['search_space0_index'])


def _py3gpp_vectors():
  with open(pathlib.Path(__file__).parent / 'fixtures/py3gpp_bch_vectors.json') as f:
    return json.load(f)['vectors']


def _unpack(hex_bits: str) -> np.ndarray:
  return np.unpackbits(np.frombuffer(bytes.fromhex(hex_bits), np.uint8))


@pytest.mark.parametrize('vector', _py3gpp_vectors(), ids=lambda v: f"pci{v['ncellid']}_sfn{v['mib']['sfn']}")
def test_independent_encoder_py3gpp(vector):
  # fixtures/py3gpp_bch_vectors.py: py3gpp's nrBCH coded bits are ours before PBCH scrambling, and our decoder
  # reads the MIB back from py3gpp's scrambled QPSK symbols (their sign bits)
  mib = nr_pbch.NrMib(**vector['mib'])
  ncellid, ssb_index, l_max = vector['ncellid'], vector['ssb_index'], vector['l_max']
  scrambling = nr_pbch._pbch_scrambling(ncellid, ssb_index % l_max)  # pylint: disable=protected-access
  ours = nr_pbch.pbch_bits(mib, ncellid, ssb_index, l_max) ^ scrambling
  np.testing.assert_array_equal(ours, _unpack(vector['coded_bits']))
  sign_bits = _unpack(vector['symbols_re_im_sign'])
  assert nr_pbch.decode_pbch(1.0 - 2.0 * sign_bits, ncellid, ssb_index % l_max, l_max) == mib
