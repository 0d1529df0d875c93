"""MIB decoding from recordings: the MATLAB-made LTE frame of ../shared/realdata/refvectors (an encoder that is
not ours) and the real LTE captures, every radio frame, SFNs counting up."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import lte
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


# (bandwidth MHz, CRS ports, SNR dB, duplex options): every bandwidth, FDD and each TDD uplink-downlink
# configuration, 1/2/4 ports, 5-20 dB
GENERATED = [
    (1.4, 1, 5, dict(duplex='fdd', load='idle')),
    (10, 2, 10, dict(duplex='fdd', load='heavy')),
    (20, 4, 20, dict(duplex='fdd', load='light')),
    (3, 1, 10, dict(duplex='tdd', ul_dl_config=0, special_subframe_config=0, load='medium')),
    (5, 2, 5, dict(duplex='tdd', ul_dl_config=1, special_subframe_config=4, load='idle')),
    (15, 4, 15, dict(duplex='tdd', ul_dl_config=2, special_subframe_config=7, load='heavy')),
    (1.4, 2, 20, dict(duplex='tdd', ul_dl_config=3, special_subframe_config=9, load='light')),
    (10, 4, 10, dict(duplex='tdd', ul_dl_config=4, special_subframe_config=5, load='idle')),
    (5, 1, 15, dict(duplex='tdd', ul_dl_config=5, special_subframe_config=6, load='medium')),
    (3, 4, 5, dict(duplex='tdd', ul_dl_config=6, special_subframe_config=1, load='heavy')),
]


@pytest.mark.parametrize('bandwidth,num_ports,snr_db,options', GENERATED)
def test_generated_cells_through_fading(bandwidth, num_ports, snr_db, options):
  """The generator's coded MIB through EPA fading (5 Hz Doppler), a CFO up to 5 kHz and a frame offset."""
  seed = int(bandwidth * 10) + num_ports + snr_db
  rng = np.random.default_rng(seed)
  ncellid, cfo = int(rng.integers(504)), float(rng.uniform(-5e3, 5e3))
  rate = 1.92e6 * int(np.ceil(bandwidth * 1e6 * 1.1 / 1.92e6))
  rate = 1.92e6 * 2 ** int(np.ceil(np.log2(rate / 1.92e6)))  # 1.92, 3.84, ..., 30.72 Msps
  wave = lte.lte_waveform(bandwidth, ncellid=ncellid, seed=seed, sample_rate=rate, duration_s=0.03,
                          num_ports=num_ports, **options)
  pad = int(rng.integers(int(rate * 0.01)))  # the capture starts inside a radio frame
  iq = channel.apply_channel(np.concatenate([np.zeros(pad, np.complex64), wave.iq]), rate, seed=seed,
                             model='epa', doppler_hz=5, snr_db=snr_db, freq_offset_hz=cfo)
  cell = lte_receiver.detect_lte_cell(iq, rate)
  assert (cell.ncellid, cell.duplex) == (ncellid, options['duplex'])
  decoded = lte_mib.decode_mib(iq, rate, cell)
  assert len(decoded) >= 2  # of the three frames
  frame = int(round(rate * 0.01))
  for d in decoded:
    index = int(round((d.frame_start - pad) / frame))
    assert abs(d.frame_start - pad - index * frame) <= rate * 144 / 30.72e6  # within the CP
    assert d.mib == lte_pbch.Mib(lte.n_rb_for(bandwidth), 'normal', 1, sfn=(wave.params['sfn0'] + index) % 1024,
                                 num_ports=num_ports)
