"""The capture catalogue: every recording in ../shared/realdata/captures, its truth regions (nominal band, or
visible extent + Ignore), and what they become as SigMF and as frame masks. Tests that read ../shared skip
without it (fail under SPECSENSE_REQUIRE_SHARED=1)."""

import json
import os

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.io import catalog
from specsense_jax.io import recordings

_BY_FILE = {c.file: c for c in catalog.CAPTURES}
_SIB = 'nr_n3_20MHz_sib_f1865MHz_s23.04Msps_cf32.bin'


def test_truth_notes_and_regions():
  assert len(_BY_FILE) == len(catalog.CAPTURES)  # no file twice
  for capture in catalog.CAPTURES:
    labels = [label for label, _, _ in capture.regions]
    assert capture.truth in catalog.TRUTHS and capture.evidence
    assert any(label in ('NR', 'LTE') for label in labels), capture.file  # each capture holds a carrier
    assert (constants.IGNORE_LABEL in labels) == (capture.truth == catalog.VISIBLE_EXTENT), capture.file
    half = capture.sample_rate / 2
    for label, lo, hi in capture.regions:
      assert lo < half and hi > -half, (capture.file, label)  # every region meets the captured band
  # What the measurements decided (see each capture's evidence).
  nominal = {c.file for c in catalog.CAPTURES if c.truth == catalog.NOMINAL_BAND}
  assert nominal == {'lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 'lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin',
                     'lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 'nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin'}
  sib = _BY_FILE[_SIB]
  assert sib.regions == (('NR', -9.66e6, -5.7e6), ('Ignore', -10e6, -9.66e6), ('Ignore', -5.7e6, 10e6))


def test_visible_extent_ignore_covers_the_rest_of_the_band():
  """Where the truth is the visible extent, NR and Ignore regions tile one interval with no gap or overlap:
  the nominal band (n3, n78 40 MHz) or the whole captured band (n78 3502.8 MHz, channel unknown)."""
  spans = {}
  for capture in catalog.CAPTURES:
    if capture.truth != catalog.VISIBLE_EXTENT:
      continue
    edges = sorted((lo, hi) for _, lo, hi in capture.regions)
    assert all(a[1] == b[0] for a, b in zip(edges, edges[1:])), capture.file
    spans[capture.file] = (edges[0][0], edges[-1][1])
  assert spans == {'nr_n78_f3502.8MHz_s46.08Msps_cf32.bin': (-23.04e6, 23.04e6),
                   'nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin': (-20e6, 20e6),
                   'nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin': (-11.52e6, 11.52e6),
                   _SIB: (-10e6, 10e6)}


@pytest.mark.parametrize('change,match', [
    ({'truth': 'observed'}, 'truth must be one of'),
    ({'regions': (('Noise', -1e6, 1e6),)}, 'region label must be one of'),
    ({'regions': (('NR', 1e6, -1e6),)}, 'lower edge < upper edge'),
    ({'regions': (('NR', -1e6, 1e6), ('Ignore', 1e6, 2e6))}, 'Ignore regions go together'),
    ({'datatype': 'ci16'}, 'datatype must be'),
])
def test_capture_rejects_bad_fields(change, match):
  fields = {'file': 'x.bin', 'datatype': 'cf32_le', 'sample_rate': 1e6, 'center_frequency': 0.0,
            'regions': (('NR', -1e5, 1e5),), 'description': '', 'truth': catalog.NOMINAL_BAND, 'evidence': ''}
  with pytest.raises(ValueError, match=match):
    catalog.Capture(**{**fields, **change})


def test_noise_columns_are_quiet(shared_dir, tmp_path):
  """Columns no region covers are Noise truth: in every capture their level (median over time of a 256-point
  spectrogram, Hann window) stays within 6 dB of the floor (the 3rd percentile of those medians over frequency).
  Noise columns measure 2.2-4.6 dB; n3's beyond its 20 MHz channel measured 18.7 dB (another transmitter) before
  they became Ignore."""
  measured = {}
  for capture in catalog.CAPTURES:
    iq = recordings.read_recording(catalog.write_sigmf(capture, str(shared_dir / 'realdata/captures'),
                                                       str(tmp_path))).read()
    n = 256
    segments = iq[:len(iq) // n * n].reshape(-1, n)
    spectra = np.fft.fftshift(np.fft.fft((segments - iq.mean()) * np.hanning(n), axis=1), axes=1)
    level = np.median(10 * np.log10(np.abs(spectra) ** 2 + 1e-30), axis=0)
    freqs = (np.arange(n) - n / 2 + 0.5) * capture.sample_rate / n
    noise = np.abs(freqs) < 0.49 * capture.sample_rate  # the anti-alias roll-off at the very edges aside
    for _, lo, hi in capture.regions:
      noise &= (freqs < lo) | (freqs >= hi)
    if noise.any():
      measured[capture.file] = float(np.median(level[noise]) - np.percentile(level, 3))
  assert set(measured) == {'nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin',
                           'nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', _SIB}
  assert all(0 <= v < 6 for v in measured.values()), measured


def test_every_capture_is_catalogued(shared_dir):
  on_disk = set(os.listdir(shared_dir / 'realdata/captures'))
  assert on_disk == set(_BY_FILE)


def test_sigmf_round_trip_inside_the_band(shared_dir, tmp_path):
  folder = shared_dir / 'realdata/captures'
  paths = catalog.write_all(str(folder), str(tmp_path))
  assert len(paths) == len(catalog.CAPTURES)
  for capture, path in zip(catalog.CAPTURES, paths):
    rec = recordings.read_recording(path)
    num_samples = os.path.getsize(folder / capture.file) // capture.sample_bytes
    assert (rec.datatype, rec.sample_rate, rec.center_frequency, rec.num_samples) == (
        capture.datatype, capture.sample_rate, capture.center_frequency, num_samples)
    assert json.loads(open(path).read())['global']['specsense:truth'] == capture.truth
    half = capture.sample_rate / 2
    assert len(rec.annotations) == len(capture.regions)
    for ann, (label, lo, hi) in zip(rec.annotations, capture.regions):
      assert ann['label'] == label and (ann['sample_start'], ann['sample_count']) == (0, num_samples)
      # the region clipped to the captured band (absolute Hz on disk: equal to well under 1 Hz)
      assert ann['freq_lower_edge'] == pytest.approx(max(lo, -half), abs=1e-3)
      assert ann['freq_upper_edge'] == pytest.approx(min(hi, half), abs=1e-3)
      assert -half - 1e-3 <= ann['freq_lower_edge'] < ann['freq_upper_edge'] <= half + 1e-3
  lte = recordings.read_recording(paths[0])  # data bytes unchanged: int8 pairs / 128
  raw = np.fromfile(folder / catalog.CAPTURES[0].file, np.int8)[:8] / 128
  np.testing.assert_allclose(lte.read(0, 4), raw[0::2] + 1j * raw[1::2])
  assert lte.num_samples == 1_536_000  # 80 ms at 19.2 Msps


def test_sib_mask_is_nr_over_the_visible_extent_and_ignore_over_the_rest(shared_dir, tmp_path):
  """The 1 ms SIB1 capture as the model sees it (61.44 Msps, 128 columns of 480 kHz; column c covers
  [-30.72 + 0.48 c, -30.72 + 0.48 (c + 1)) MHz, MATLAB's floor rule for annotation edges): data only in
  columns 40..87 (+-11.52 MHz); NR -9.66..-5.7 MHz spans columns 43..52, the Ignore regions -10..-9.66 MHz
  (column 43) and -5.7..+10 MHz (52..84) win the shared edge columns, so NR is 44..51 (-9.60..-5.76 MHz)."""
  meta = catalog.write_sigmf(_BY_FILE[_SIB], str(shared_dir / 'realdata/captures'), str(tmp_path))
  (frame,) = frames.recording_frames(recordings.read_recording(meta), (128, 128), 'matlab')
  mask = frames.label_mask(frame)
  expected = np.full(128, constants.NO_LABEL, np.uint8)
  expected[40:43] = expected[85:88] = constants.CLASS_IDS['Noise']
  expected[44:52] = constants.CLASS_IDS['NR']
  assert frame.valid_rows.all()  # 1 ms at 61.44 Msps fills every row's read window
  np.testing.assert_array_equal(mask, np.broadcast_to(expected, (128, 128)))
