"""NR cell search (nr_receiver.detect_nr_cell) with the SS/PBCH block away from the carrier centre."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_receiver
from specsense_jax.signals import ofdm

FS = 30.72e6
# (SCS kHz, ssb_rb_offset, PCI): 20 MHz carriers of 106 RB (15 kHz) and 51 RB (30 kHz), TS 38.101-1 Table
# 5.3.2-1; the block's 20 RB at the low edge (0), the high edge (N_RB - 20), and in between.
CASES = [(15, 0, 17), (15, 86, 1007), (15, 31, 500), (30, 0, 3), (30, 31, 662), (30, 9, 128)]


def _expected_offset_hz(scs_khz, n_rb, ssb_rb_offset):
  # Block subcarrier 120 (its centre) is carrier subcarrier 12·offset + 120; subcarrier N_RB·6 sits at 0 Hz.
  return (12 * ssb_rb_offset + 120 - 6 * n_rb) * scs_khz * 1e3


@pytest.mark.parametrize('scs,ssb_rb_offset,ncellid', CASES)
def test_pci_with_off_centre_ssb(scs, ssb_rb_offset, ncellid):
  n_rb = {15: 106, 30: 51}[scs]
  wave = nr.nr_waveform(20, scs, ncellid=ncellid, seed=ncellid, sample_rate=FS, duration_s=0.006,
                        ssb_rb_offset=ssb_rb_offset)
  assert wave.ssb_offset_hz == _expected_offset_hz(scs, n_rb, ssb_rb_offset)
  rx = channel.apply_channel(wave.iq, FS, seed=ncellid, model='tdl', doppler_hz=50, snr_db=5)
  found = nr_receiver.detect_nr_cell(rx, FS, scs, wave.ssb_offset_hz)
  assert (found['ncellid'], found['n_id1'], found['n_id2']) == (ncellid, ncellid // 3, ncellid % 3)
  cp = ofdm.nr_numerology(scs, FS).cp_lengths[1]
  # The block start (its CP) found within a quarter of the CP (the strongest TDL path may come a sample late).
  assert np.min(np.abs(found['pss_start'] - cp - wave.ssb_starts)) <= cp // 4


@pytest.mark.parametrize('scs,ssb_rb_offset', [(15, 86), (30, 0)])
def test_pci_at_the_edge_with_a_frequency_offset(scs, ssb_rb_offset):
  # A 1.2 kHz carrier offset, found by the CFO grid (steps of 1 kHz).
  wave = nr.nr_waveform(20, scs, ncellid=250, seed=2, sample_rate=FS, duration_s=0.006, ssb_rb_offset=ssb_rb_offset)
  rx = channel.apply_channel(wave.iq, FS, seed=2, snr_db=10, freq_offset_hz=1.2e3)
  found = nr_receiver.detect_nr_cell(rx, FS, scs, wave.ssb_offset_hz, cfo_search_hz=np.arange(-3e3, 3e3 + 1, 1e3))
  assert found['ncellid'] == 250 and found['cfo_hz'] == 1e3
