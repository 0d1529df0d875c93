"""NR cells found on the synchronization raster without being told where: every real capture's SS/PBCH block
(README of ../shared/realdata), a second operator's cell in the 100 MHz capture, none in the SIB1-only capture."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_scan

# file, rate, centre (Hz), [(GSCN, SS_REF offset Hz, PCI, SFN)]: the catalogue's SSBs, and in the 100 MHz capture
# the other operator's cell above +50 MHz
REAL = [
    ('nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', 46.08e6, 3502.8e6, [(7855, 9.84e6, 500, 978)]),
    ('nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin', 184.32e6, 3500.01e6,
     [(7889, 61.59e6, 398, 454), (7864, 25.59e6, 579, 454)]),
    ('nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', 46.08e6, 3427.5e6, [(7786, -14.22e6, 1, 512)]),
    ('nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', 23.04e6, 1865e6, [(4643, -7.35e6, 1, 327)]),
    ('nr_n3_20MHz_sib_f1865MHz_s23.04Msps_cf32.bin', 23.04e6, 1865e6, []),  # CORESET0 + SIB1, no SSB
]


@pytest.mark.parametrize('name,rate,centre,expected', REAL)
def test_real_captures(shared_dir, name, rate, centre, expected):
  iq = np.fromfile(shared_dir / 'realdata/captures' / name, np.complex64)
  found = nr_scan.find_nr_cells(iq, rate, center_frequency=centre)
  assert [(c.gscn, c.ssb_offset_hz, c.ncellid, c.ssb.mib.sfn) for c in found] == [
      (g, pytest.approx(o, abs=1.0), pci, sfn) for g, o, pci, sfn in expected]
  assert all(c.band == ('n3' if centre < 3e9 else 'n78') for c in found)
  assert all(c.repeats == () for c in found)  # one burst in each (1 ms, or 10 ms of a 20 ms period)


def test_repeated_blocks_count_the_sfn():
  # 50 ms of a cell with a 10 ms SSB period, through TDL-A at 10 dB, starting mid-frame: five bursts, SFNs in
  # step with their distance
  rate, scs = 30.72e6, 30
  options = dict(ncellid=77, seed=2, duration_s=0.05, load='light', ssb_case='C', ssb_period_ms=10)
  wave = nr.nr_waveform(20, scs, sample_rate=rate, **options)
  ss_ref = (nr.nr_source(20, scs, **options).ssb_subcarrier - 6 * wave.params['n_rb']) * scs * 1e3
  iq = channel.apply_channel(wave.iq, rate, seed=2, model='tdl', snr_db=10)[3000:]
  (cell,) = nr_scan.find_nr_cells(iq, rate, center_frequency=nr_raster.gscn_to_hz(7850) - ss_ref)
  blocks = sorted((cell.ssb,) + cell.repeats, key=lambda b: b.pss_start)
  assert cell.ncellid == 77 and len(blocks) == 5
  assert [b.mib.sfn for b in blocks] == [(wave.params['sfn0'] + i) % 1024 for i in range(5)]
  assert np.all(np.diff([b.pss_start for b in blocks]) == int(rate * 0.01))


def test_candidates_on_the_raster():
  # n3 (15 kHz, GSCN 4517..4693) around 1865 MHz: SS_REF = N·1.2 MHz + M·50 kHz inside ±(11.52 - 1.8) MHz
  candidates = nr_scan.ssb_candidates(1865e6, 23.04e6)
  assert {c[0] for c in candidates} == {'n3'} and all(c[2] == 15 for c in candidates)
  assert (4643, -7.35e6) in [(c[1], round(c[3])) for c in candidates]
  assert all(abs(c[3]) + 120 * 15e3 <= 23.04e6 / 2 for c in candidates)
  # 3.5 GHz is in n77 and n78: each GSCN once, under n78
  n78 = nr_scan.ssb_candidates(3500.01e6, 46.08e6)
  assert {c[0] for c in n78} == {'n78'} and len({c[1] for c in n78}) == len(n78)
  assert nr_scan.ssb_candidates(100e6, 10e6) == []  # no tabulated band there


def test_rates_off_the_receiver_grid_are_resampled(shared_dir):
  # 23.04 Msps resampled to 25 Msps (no multiple of 3.84 MHz): the cell is still found, its PSS given back at 25 Msps
  iq = np.fromfile(shared_dir / 'realdata/captures/nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', np.complex64)
  import scipy.signal  # pylint: disable=g-import-not-at-top
  resampled = scipy.signal.resample_poly(iq, 625, 576).astype(np.complex64)
  (cell,) = nr_scan.find_nr_cells(resampled, 25e6, center_frequency=1865e6)
  assert (cell.ncellid, cell.gscn, cell.ssb.mib.sfn) == (1, 4643, 327)
  assert abs(cell.ssb.pss_start - 3406 * 625 / 576) <= 2
  assert nr_scan.find_nr_cells(resampled[:20_000], 25e6, center_frequency=1865e6) == []  # under 1 ms
