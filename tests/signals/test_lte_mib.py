"""MIB decoding from recordings: the MATLAB-made LTE frame of ../shared/realdata/refvectors (an encoder that is
not ours) and the real LTE captures, every radio frame, SFNs counting up."""

import numpy as np
import pytest

from specsense_jax.signals import lte_mib
from specsense_jax.signals import lte_pbch
from specsense_jax.signals import lte_receiver


def test_pbch_resource_elements():
  normal, extended = lte_mib.pbch_mask(11, 'normal'), lte_mib.pbch_mask(11, 'extended')
  assert normal.sum() * 2 == lte_pbch.PBCH_BITS['normal'] // 4 and extended.sum() * 2 == 1728 // 4
  # the CRS of ports 0-3 (k mod 3 = N_ID mod 3 = 2) are skipped in symbols 0 and 1 (and 3 with extended CP)
  assert not normal[0, 2::3].any() and normal[0, 0::3].all() and normal[2:].all() and not extended[3, 2::3].any()


def test_matlab_made_frame(shared_dir):
  # README of refvectors: NCellID 11, 50 PRB, one port, Ng 1, normal PHICH duration; three radio frames
  iq = np.load(shared_dir / 'realdata/refvectors/genFrame1024_lte10MHz_15.36Msps_pci11_30ms.npy')
  cell = lte_receiver.detect_lte_cell(iq, 15.36e6)
  decoded = lte_mib.decode_mib(iq, 15.36e6, cell)
  assert [d.frame_start for d in decoded] == [0, 153600, 307200]
  assert [d.mib for d in decoded] == [lte_pbch.Mib(50, 'normal', 1, sfn=sfn, num_ports=1) for sfn in range(3)]


# file, dl-Bandwidth (RB), PHICH N_g, SFN of the first frame: 20 MHz carriers (README of ../shared/realdata), two
# CRS ports as the cell search finds them
REAL = [
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 100, 1, 951),
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin', 100, 1, 13),
    ('lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 100, 1 / 2, 715),
]


@pytest.mark.parametrize('name,rb,ng,first_sfn', REAL)
def test_real_captures(shared_dir, name, rb, ng, first_sfn):
  raw = np.fromfile(shared_dir / 'realdata/captures' / name, np.int8).astype(np.float32) / 128
  iq = (raw[0::2] + 1j * raw[1::2]).astype(np.complex64)
  cell = lte_receiver.detect_lte_cell(iq, 19.2e6)
  decoded = lte_mib.decode_mib(iq, 19.2e6, cell)
  assert len(decoded) == 8  # every radio frame of the 80 ms
  assert np.all(np.diff([d.frame_start for d in decoded]) == 192_000)
  assert [d.mib for d in decoded] == [lte_pbch.Mib(rb, 'normal', ng, sfn=first_sfn + i, num_ports=2)
                                      for i in range(8)]
