"""SigMF read/write: datatypes, annotations, and errors that name the file."""

import json

import numpy as np
import pytest

from specsense_jax.io import recordings
from specsense_jax.io import sigmf


def _iq(n=1000, seed=0):
  rng = np.random.default_rng(seed)
  return (0.3 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).clip(-0.99, 0.99).astype(np.complex64)


@pytest.mark.parametrize('datatype,tolerance', [('ci8', 1 / 128), ('ci16_le', 1 / 32768), ('ci16_be', 1 / 32768),
                                                ('cf32_le', 0), ('cf32_be', 0), ('ci16', 1 / 32768),
                                                ('cf32', 0)])
def test_round_trip_every_datatype(tmp_path, datatype, tolerance):
  iq = np.clip(_iq().real, -0.99, 0.99) + 1j * np.clip(_iq(seed=1).real, -0.99, 0.99)
  annotations = [{'label': 'LTE', 'freq_lower_edge': -5e6, 'freq_upper_edge': 5e6, 'sample_start': 100,
                  'sample_count': 400}]
  path = sigmf.write_recording(tmp_path / 'rec', iq, 19.2e6, center_frequency=1.8e9, annotations=annotations,
                               datatype=datatype)
  rec = recordings.read_recording(path)
  assert rec.num_samples == 1000 and rec.sample_rate == 19.2e6 and rec.center_frequency == 1.8e9
  assert rec.annotations == annotations
  np.testing.assert_allclose(rec.read(), iq, atol=tolerance * 0.71 + 1e-7)  # half a step on I and Q
  np.testing.assert_allclose(rec.read(250, 10), rec.read()[250:260])
  segments = rec.read_segments(np.array([990, 3, 500]), 10)  # any order, one mapping
  np.testing.assert_array_equal(segments, np.stack([rec.read(990, 10), rec.read(3, 10), rec.read(500, 10)]))
  meta = json.loads(open(path).read())
  assert meta['annotations'][0]['core:freq_lower_edge'] == 1.8e9 - 5e6  # absolute on disk


def test_big_endian_bytes_on_disk(tmp_path):
  sigmf.write_recording(tmp_path / 'be', np.array([0.5 + 0.25j], np.complex64), 1e6, datatype='ci16_be')
  assert (tmp_path / 'be.sigmf-data').read_bytes() == bytes([0x40, 0x00, 0x20, 0x00])


def test_write_rejects_bad_samples_and_leaves_nothing(tmp_path):
  with pytest.raises(sigmf.SigMFError, match='non-finite'):
    sigmf.write_recording(tmp_path / 'x', np.array([np.nan], np.complex64), 1e6)
  with pytest.raises(sigmf.SigMFError, match='full scale'):
    sigmf.write_recording(tmp_path / 'y', np.array([2.0], np.complex64), 1e6, datatype='ci8')
  with pytest.raises(sigmf.SigMFError, match='unsupported datatype'):
    sigmf.write_recording(tmp_path / 'z', np.zeros(4, np.complex64), 1e6, datatype='cu8')
  assert list(tmp_path.iterdir()) == []


def test_segment_reads_check_bounds_and_values(tmp_path):
  rec = recordings.read_recording(sigmf.write_recording(tmp_path / 'r', _iq(100), 1e6, datatype='cf32_le'))
  with pytest.raises(sigmf.SigMFError, match=r'r\.sigmf-data: samples \[95, 105\) are outside'):
    rec.read_segments(np.array([0, 95]), 10)
  raw = np.fromfile(rec.data_path, np.float32)
  raw[2 * 42] = np.nan
  raw.tofile(rec.data_path)
  with pytest.raises(sigmf.SigMFError, match='non-finite sample .*in the segments read from index 40'):
    rec.read_segments(np.array([40, 60]), 5)
  with pytest.raises(sigmf.SigMFError, match='non-finite sample .*at index 42'):
    rec.read(40, 5)
  assert np.isfinite(rec.read_segments(np.array([0, 60]), 5)).all()
  with open(rec.data_path, 'r+b') as f:  # cut short after it was opened: the read names the file
    f.truncate(8 * 80)
  with pytest.raises(sigmf.SigMFError, match=r'r\.sigmf-data: file ends before byte 760, which its metadata says'):
    rec.read_segments(np.array([0, 90]), 5)


def test_read_errors_name_the_file(tmp_path):
  with pytest.raises(sigmf.SigMFError, match=r'missing\.sigmf-meta: file not found'):
    recordings.read_recording(tmp_path / 'missing')
  path = sigmf.write_recording(tmp_path / 'r', _iq(), 1e6)
  text = json.loads(open(path).read())
  text['global']['core:sample_rate'] = -1
  open(path, 'w').write(json.dumps(text))
  with pytest.raises(sigmf.SigMFError, match=r'r\.sigmf-meta: core:sample_rate'):
    recordings.read_recording(path)
  open(path, 'w').write('{not json')
  with pytest.raises(sigmf.SigMFError, match='not valid JSON'):
    recordings.read_recording(path)

