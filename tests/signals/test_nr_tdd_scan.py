"""NR TDD patterns read back from generated cells' symbol energy (`nr_tdd_scan`), through fading and noise, from
a recording that starts mid-frame; the frame timing from a decoded SS/PBCH block of each case (A, B, C; one
off-centre), whose PCI and MIB are the generated cell's."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_mib
from specsense_jax.signals import nr_receiver
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import nr_tdd_scan

RATE = 30.72e6
CUT = 12345  # the recording starts this many samples after a frame start


def _cell(scs, pattern, load, seed, duplex='tdd', **kwargs):
  wave = nr.nr_waveform(20, scs, ncellid=17, seed=seed, sample_rate=RATE, duration_s=0.02, duplex=duplex,
                        load=load, **({'tdd_pattern': pattern} if duplex == 'tdd' else {}), **kwargs)
  return wave, channel.apply_channel(wave.iq, RATE, seed=seed, model='tdl', snr_db=10)[CUT:]


@pytest.mark.parametrize('scs,pattern,load', [
    (30, 'DDDSU', 'heavy'),
    (30, 'DDDSUDDSUU', 'full'),  # pattern1 + pattern2
    (30, 'DDDSU_6_4_4', 'medium'),
    (15, 'DSUUU', 'heavy'),
])
def test_generated_patterns(scs, pattern, load):
  _, iq = _cell(scs, pattern, load, seed=len(pattern) + scs)
  estimate = nr_tdd_scan.estimate_tdd(iq, RATE, frame_start=-CUT, scs_khz=scs, band_hz=(-9.5e6, 9.5e6))
  truth = nr_tdd.resolve(pattern, scs)
  assert estimate.slots == nr_tdd.slot_string(truth, scs)
  got = [p for p in (estimate.config.pattern1, estimate.config.pattern2) if p]
  want = [p for p in (truth.pattern1, truth.pattern2) if p]
  assert [(p.periodicity_ms, p.nrof_downlink_slots, p.nrof_downlink_symbols) for p in got] == [
      (p.periodicity_ms, p.nrof_downlink_slots, p.nrof_downlink_symbols) for p in want]
  assert estimate.periods == int(len(iq) / RATE * 1e3 // sum(p.periodicity_ms for p in want))
  assert estimate.fill > nr_tdd_scan.MIN_FILL


@pytest.mark.parametrize('seed', [30, 31])
def test_idle_cells_are_not_trusted(seed):
  # SS/PBCH blocks, CORESET0, SIB1 and TRS fill too little of the downlink to show the pattern: what they allow is
  # flagged by its fill (these two read 'DDDSUUUUUU' and 'SDDSU', fill 0.12 and 0.16)
  _, iq = _cell(30, 'DDDSU', 'idle', seed=seed)
  estimate = nr_tdd_scan.estimate_tdd(iq, RATE, frame_start=-CUT, scs_khz=30, band_hz=(-9.5e6, 9.5e6))
  assert estimate is None or estimate.fill < nr_tdd_scan.MIN_FILL


def test_fdd_and_noise_have_no_pattern():
  _, iq = _cell(30, None, 'full', seed=1, duplex='fdd')
  assert nr_tdd_scan.estimate_tdd(iq, RATE, frame_start=-CUT, scs_khz=30) is None
  noise = (np.random.default_rng(0).normal(size=(200_000, 2)) @ [1, 1j]).astype(np.complex64)
  assert nr_tdd_scan.estimate_tdd(noise, RATE, frame_start=0, scs_khz=30) is None


@pytest.mark.parametrize('scs,case,rb_offset', [(15, 'A', None), (30, 'B', None), (30, 'C', 2)])
def test_frame_start_from_a_decoded_block(scs, case, rb_offset):
  # four blocks a burst every 5 ms (the block found is any of them), TDL-A at 10 dB, the last one off-centre
  options = dict(ssb_case=case, ssb_bitmap='1111', ssb_num_blocks=4, ssb_period_ms=5, ssb_rb_offset=rb_offset)
  wave, iq = _cell(scs, 'DDDSU', 'light', seed=7, **options)
  offset = (nr.nr_source(20, scs, ncellid=17, seed=7, duration_s=0.02, duplex='tdd', tdd_pattern='DDDSU',
                         load='light', **options).ssb_subcarrier - 6 * wave.params['n_rb']) * scs * 1e3
  cell = nr_receiver.detect_nr_cell(iq, RATE, scs, offset)
  ssb = nr_mib.decode_ssb(iq, RATE, ncellid=17, scs_khz=scs, ssb_offset_hz=offset, pss_start=cell['pss_start'])
  p = wave.params
  assert cell['ncellid'] == 17 and (ssb.mib.k_ssb, ssb.mib.coreset_zero, ssb.mib.search_space_zero) == (
      p['k_ssb'], p['coreset0_index'], p['search_space0_index'])
  start = nr_tdd_scan.frame_start(ssb.pss_start, ssb.ssb_index, ssb.mib.half_frame, scs_khz=scs, case=case,
                                  sample_rate=RATE)
  frame = int(RATE * 0.01)
  error = (start + CUT + frame // 2) % frame - frame // 2  # from the nearest frame start of the waveform
  assert abs(error) <= 2  # the PSS timing's sample
  assert ssb.mib.sfn == (p['sfn0'] + (ssb.pss_start + CUT) // frame) % 1024


@pytest.mark.parametrize('slots', ['DDDDSU+DSUU', 'DDDDDDSU+DS'])
def test_rel15_periodicities_read_back(slots):
  # 3 ms + 2 ms and 4 ms + 1 ms (dl-UL-TransmissionPeriodicity-v1530) at 30 kHz, fully loaded
  patterns = [nr_tdd.TddPattern(len(part) / 2, part.index('S'), 10, len(part) - part.index('S') - 1, 2)
              for part in slots.split('+')]
  config = nr_tdd.TddConfig(*patterns)
  _, iq = _cell(30, config, 'full', seed=3)
  estimate = nr_tdd_scan.estimate_tdd(iq, RATE, frame_start=-CUT, scs_khz=30, band_hz=(-9.5e6, 9.5e6))
  assert estimate.slots == slots.replace('+', '') and estimate.config.pattern2 is not None
  assert (estimate.config.pattern1.periodicity_ms, estimate.config.pattern2.periodicity_ms) == (
      patterns[0].periodicity_ms, patterns[1].periodicity_ms)
