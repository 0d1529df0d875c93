"""Automatic annotations of the real captures against the hand-made catalogue (`io.catalog`): every carrier found
and proven by its MIB, edges within 0.5 MHz, written as SigMF with the declared extension."""

import json

import numpy as np
import pytest

from specsense_jax.io import auto_annotations
from specsense_jax.io import catalog
from specsense_jax.io import sigmf
from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster


def _load(shared_dir, capture):
  path = shared_dir / 'realdata/captures' / capture.file
  if capture.datatype == 'ci8':
    raw = np.fromfile(path, np.int8).astype(np.float32) / 128
    return (raw[0::2] + 1j * raw[1::2]).astype(np.complex64)
  return np.fromfile(path, np.complex64)


# file -> the auto labels (label, low MHz, high MHz, cell ID, bandwidth source); each NR edge is within 0.5 MHz of
# the catalogue's (nominal band for the 100 MHz carrier, visible extent for 40 MHz and n3)
# (The LTE captures' carriers come from `lte_scan`, whose tests cover them; an LTE label, its MIB's channel, is
# checked in tests/io/test_auto_labelling.py.)
EXPECTED = {
    'nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin': [  # PCI 398: a second operator, Unknown in the catalogue
        ('NR', 51.93, 69.21, 398, 'coreset0'), ('Ignore', 49.96, 51.93, 398, 'coreset0'),
        ('Ignore', 69.21, 92.16, 398, 'coreset0'), ('NR', -50.04, 49.96, 579, 'spectrum')],
    'nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin': [
        ('NR', -19.08, -10.44, 1, 'coreset0'), ('Ignore', -23.04, -19.08, 1, 'coreset0'),
        ('Ignore', -10.44, 23.04, 1, 'coreset0')],
    'nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin': [
        ('NR', -9.54, -5.22, 1, 'coreset0'), ('Ignore', -11.52, -9.54, 1, 'coreset0'),
        ('Ignore', -5.22, 11.52, 1, 'coreset0')],
    # k_SSB 31 (no CORESET0): subCarrierSpacingCommon means nothing, so no channel of it is matched; the energy
    # around the block is the label and the rest of the band Ignore, as the catalogue has it (NR 6.0..15.5)
    'nr_n78_f3502.8MHz_s46.08Msps_cf32.bin': [
        ('NR', 6.03, 15.51, 500, 'ssb'), ('Ignore', -23.04, 6.03, 500, 'ssb'), ('Ignore', 15.51, 23.04, 500, 'ssb')],
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_real_captures_against_the_catalogue(shared_dir, name, tmp_path):
  capture = next(c for c in catalog.CAPTURES if c.file == name)
  iq = _load(shared_dir, capture)
  found = auto_annotations.annotate(iq, capture.sample_rate, center_frequency=capture.center_frequency)
  assert [(a['label'], round(a['freq_lower_edge'] / 1e6, 2), round(a['freq_upper_edge'] / 1e6, 2),
           a['specsense:cell_id'], a['specsense:bandwidth_source']) for a in found] == EXPECTED[name]
  truth = [r for r in capture.annotations(len(iq)) if r['label'] in ('NR', 'LTE')]
  for region in truth:  # the catalogue's carrier, matched by an automatic one within 0.5 MHz per edge
    assert any(a['label'] == region['label'] and abs(a['freq_lower_edge'] - region['freq_lower_edge']) <= 0.5e6
               and abs(a['freq_upper_edge'] - region['freq_upper_edge']) <= 0.5e6 for a in found), region
  assert all(a['sample_start'] == 0 and a['sample_count'] == len(iq) for a in found)
  cells = [a for a in found if a['label'] == 'NR']
  assert {a['specsense:duplex'] for a in cells} == {'fdd' if '_n3_' in name else 'tdd'}
  assert all(a.get('specsense:tdd') is None for a in cells)  # 1 ms: under two periods; 10 ms: an idle cell
  meta = sigmf.write_metadata(str(tmp_path / 'rec'), 'cf32_le', capture.sample_rate, len(iq),
                              center_frequency=capture.center_frequency, annotations=found)
  written = json.loads(open(meta).read())['annotations']
  assert [a['specsense:cell_id'] for a in written] == [a['specsense:cell_id'] for a in found]
  assert written[0]['core:freq_lower_edge'] == pytest.approx(capture.center_frequency + found[0]['freq_lower_edge'])


def test_capture_without_a_cell_is_unknown(shared_dir):
  # SIB1 only: energy at -10.2..-5.7 MHz, no SS/PBCH block to prove it NR
  capture = next(c for c in catalog.CAPTURES if c.file.startswith('nr_n3_20MHz_sib'))
  found = auto_annotations.annotate(_load(shared_dir, capture), capture.sample_rate,
                                    center_frequency=capture.center_frequency)
  assert [a['label'] for a in found] == ['Unknown']
  assert found[0]['freq_lower_edge'] == pytest.approx(-10.17e6, abs=0.3e6)
  assert found[0]['freq_upper_edge'] == pytest.approx(-5.68e6, abs=0.3e6)



def test_generated_tdd_cell_gets_its_pattern():
  # a fully loaded 40 MHz n78 cell (TDL-A, 20 dB) whose SS/PBCH block sits on GSCN 7850: the channel from its
  # spectrum, the pattern from its symbols' energy
  rate, scs = 61.44e6, 30
  options = dict(ncellid=321, seed=5, duration_s=0.012, duplex='tdd', tdd_pattern='DDDSU', load='full',
                 ssb_case='C')
  wave = nr.nr_waveform(40, scs, sample_rate=rate, **options)
  ss_ref = (nr.nr_source(40, scs, **options).ssb_subcarrier - 6 * wave.params['n_rb']) * scs * 1e3
  centre = nr_raster.gscn_to_hz(7850) - ss_ref
  iq = channel.apply_channel(wave.iq, rate, seed=5, model='tdl', snr_db=20)[1000:]
  found = auto_annotations.annotate(iq, rate, center_frequency=centre)
  cell = next(a for a in found if a['label'] == 'NR')
  assert (cell['specsense:cell_id'], cell['specsense:bandwidth_source']) == (321, 'spectrum')
  assert cell['freq_lower_edge'] == pytest.approx(-20e6, abs=0.1e6)  # a fading notch inside is bridged
  assert cell['freq_upper_edge'] == pytest.approx(20e6, abs=0.1e6)
  assert cell['specsense:tdd']['slots'] == 'DDDSU' and cell['specsense:tdd']['periodicity_ms'] == [2.5]
  assert cell['specsense:tdd']['downlink_symbols'] == [10]
