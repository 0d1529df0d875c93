"""Recordings: SigMF as the `sigmf` package writes it (archives, core:offset, several captures, non-conforming
datasets), raw IQ, .npy and slices, all behind one protocol."""

import json

import numpy as np
import pytest
from sigmf import sigmffile

from specsense_jax import frames
from specsense_jax.io import recordings
from specsense_jax.io import sigmf


def _ci16(n, seed=0):
  """(complex64 samples at full scale ±1, their interleaved little-endian int16 bytes)."""
  pairs = np.random.default_rng(seed).integers(-30000, 30000, (n, 2)).astype('<i2')
  return (pairs[:, 0] + 1j * pairs[:, 1]).astype(np.complex64) / 32768, pairs.tobytes()


def _sigmf_file(data_file, captures, annotations=(), **global_fields):
  handle = sigmffile.SigMFFile(data_file=str(data_file), skip_checksum=True, global_info={
      'core:datatype': 'ci16_le', 'core:sample_rate': 1.92e6, **global_fields})
  for start, fields in captures:
    handle.add_capture(start, metadata=dict(fields))
  for start, count, fields in annotations:
    handle.add_annotation(start, count, metadata=dict(fields))
  return handle


@pytest.mark.parametrize('suffix', ['.sigmf', '.sigmf.gz', '.sigmf.zip'])
def test_archive_written_by_the_sigmf_package_opens(tmp_path, suffix):
  iq, raw = _ci16(5000)
  (tmp_path / 'rec.sigmf-data').write_bytes(raw)
  handle = _sigmf_file(tmp_path / 'rec.sigmf-data', [(0, {'core:frequency': 2.6e9})], [
      (100, 200, {'core:label': 'LTE', 'core:freq_lower_edge': 2.6e9 - 7e5, 'core:freq_upper_edge': 2.6e9 + 7e5})])
  path = handle.archive(str(tmp_path / f'rec_archive{suffix}'))
  for opened in (recordings.read_recording(path), recordings.open_recording(path)):
    assert isinstance(opened, recordings.SigMFRecording) and isinstance(opened, recordings.Recording)
    assert opened.name == 'rec_archive' and opened.num_samples == 5000 and opened.center_frequency == 2.6e9
    np.testing.assert_array_equal(opened.read(), iq)
    np.testing.assert_array_equal(opened.read(1234, 7), iq[1234:1241])
    np.testing.assert_array_equal(opened.read_segments(np.array([4990, 0]), 10), np.stack([iq[4990:], iq[:10]]))
    assert opened.annotations == [{'label': 'LTE', 'freq_lower_edge': pytest.approx(-7e5),
                                   'freq_upper_edge': pytest.approx(7e5), 'sample_start': 100, 'sample_count': 200}]
  if suffix == '.sigmf':  # the base name finds the archive when no .sigmf-meta is beside it
    np.testing.assert_array_equal(recordings.open_recording(str(tmp_path / 'rec_archive')).read(0, 3), iq[:3])


def test_archive_errors_name_the_file(tmp_path):
  (tmp_path / 'bad.sigmf').write_bytes(b'not a tar file')
  with pytest.raises(sigmf.SigMFError, match=r'bad\.sigmf: not a readable SigMF archive'):
    recordings.read_recording(tmp_path / 'bad.sigmf')
  with pytest.raises(sigmf.SigMFError, match=r'gone\.sigmf: file not found'):
    recordings.read_recording(tmp_path / 'gone.sigmf')


def test_core_offset_makes_indices_relative_to_the_dataset(tmp_path):
  iq, raw = _ci16(1000)
  (tmp_path / 'rec.sigmf-data').write_bytes(raw)
  handle = _sigmf_file(tmp_path / 'rec.sigmf-data', [(50_000, {'core:frequency': 1e9})], [
      (50_010, 20, {'core:label': 'NR', 'core:freq_lower_edge': 1e9, 'core:freq_upper_edge': 1e9 + 5e5})],
      **{'core:offset': 50_000})
  handle.tofile(str(tmp_path / 'rec'))
  rec = recordings.read_recording(tmp_path / 'rec.sigmf-meta')
  assert rec.num_samples == 1000 and rec.segments == (recordings.Segment(0, 1000, 1e9),)
  assert rec.annotations == [{'label': 'NR', 'freq_lower_edge': 0.0, 'freq_upper_edge': 5e5, 'sample_start': 10,
                              'sample_count': 20}]
  np.testing.assert_array_equal(rec.read(0, 4), iq[:4])
  meta = json.loads((tmp_path / 'rec.sigmf-meta').read_text())
  meta['annotations'][0]['core:sample_start'] = 50_990  # ends at 51_010, past the dataset's 51_000
  (tmp_path / 'rec.sigmf-meta').write_text(json.dumps(meta))
  with pytest.raises(sigmf.SigMFError, match=r'annotation 0 covers samples \[50990, 51010\), outside the '
                     r'recording \(50000\.\.51000\)'):
    recordings.read_recording(tmp_path / 'rec.sigmf-meta')


@pytest.mark.parametrize('change', ['frequency', 'gap'])
def test_two_capture_segments_and_frames_that_do_not_span_them(tmp_path, change):
  # 60 ms at 1.92 Msps; a new capture at 50 ms: a retune, or the same centre after 1000 dropped samples.
  iq, raw = _ci16(115_200)
  (tmp_path / 'rec.sigmf-data').write_bytes(raw)
  second = ({'core:frequency': 1.9e9, 'core:global_index': 96_000} if change == 'frequency'
            else {'core:frequency': 1.8e9, 'core:global_index': 97_000})
  handle = _sigmf_file(tmp_path / 'rec.sigmf-data', [(0, {'core:frequency': 1.8e9, 'core:global_index': 0}),
                                                     (96_000, second)], [
      (90_000, 10_000, {'core:label': 'LTE', 'core:freq_lower_edge': 1.8e9 - 5e5, 'core:freq_upper_edge': 1.8e9})])
  handle.tofile(str(tmp_path / 'rec'))
  rec = recordings.read_recording(tmp_path / 'rec')
  centre = 1.9e9 if change == 'frequency' else 1.8e9
  assert rec.segments == (recordings.Segment(0, 96_000, 1.8e9), recordings.Segment(96_000, 19_200, centre))
  # the annotation across the boundary is split, each part relative to its own segment's centre
  assert [(a['sample_start'], a['sample_count'], a['freq_lower_edge']) for a in rec.annotations] == [
      (90_000, 6000, -5e5), (96_000, 4000, 1.8e9 - 5e5 - centre)]
  spans = list(frames.frame_spans(rec))
  assert [(s.first, s.last) for s in spans] == [(0, 76_800), (76_800, 96_000), (96_000, 115_200)]
  cut = list(frames.recording_frames(rec, (64, 64)))
  assert [f.index for f in cut] == [0, 1, 2]
  assert [(f.start_s, f.duration_s, f.center_frequency) for f in cut] == [
      (0.0, 0.04, 1.8e9), (0.04, pytest.approx(0.01), 1.8e9), (0.05, pytest.approx(0.01), centre)]
  assert all(f.valid_rows.all() for f in cut)  # each segment's rest is a frame of its own length


def test_contiguous_captures_at_one_frequency_are_one_segment(tmp_path):
  _, raw = _ci16(2000)
  (tmp_path / 'rec.sigmf-data').write_bytes(raw)
  handle = _sigmf_file(tmp_path / 'rec.sigmf-data', [(0, {'core:frequency': 1e9, 'core:global_index': 500}),
                                                     (800, {'core:frequency': 1e9, 'core:global_index': 1300})])
  handle.tofile(str(tmp_path / 'rec'))
  assert recordings.read_recording(tmp_path / 'rec').segments == (recordings.Segment(0, 2000, 1e9),)


def test_non_conforming_dataset_with_headers(tmp_path):
  # A foreign file: a 64-byte file header, 300 samples, a 16-byte chunk header, 200 samples, 8 trailing bytes.
  iq, raw = _ci16(500)
  (tmp_path / 'capture.bin').write_bytes(b'H' * 64 + raw[:1200] + b'h' * 16 + raw[1200:] + b'T' * 8)
  meta = {'global': {'core:datatype': 'ci16_le', 'core:sample_rate': 1e6, 'core:version': '1.2.0',
                     'core:dataset': 'capture.bin', 'core:trailing_bytes': 8},
          'captures': [{'core:sample_start': 0, 'core:header_bytes': 64, 'core:frequency': 1e9},
                       {'core:sample_start': 300, 'core:header_bytes': 16, 'core:frequency': 1e9}],
          'annotations': []}
  (tmp_path / 'foreign.sigmf-meta').write_text(json.dumps(meta))
  rec = recordings.open_recording(str(tmp_path / 'foreign.sigmf-meta'))
  assert rec.data_path.endswith('capture.bin') and rec.num_samples == 500
  np.testing.assert_array_equal(rec.read(), iq)  # across the chunk header
  np.testing.assert_array_equal(rec.read(299, 2), iq[299:301])
  np.testing.assert_array_equal(rec.read_segments(np.array([0, 295, 490]), 10),  # one window across the header
                                np.stack([iq[0:10], iq[295:305], iq[490:500]]))
  np.testing.assert_array_equal(rec.read_segments(np.array([490, 0, 300, 290]), 10),  # each inside one chunk
                                np.stack([iq[490:500], iq[0:10], iq[300:310], iq[290:300]]))
  meta['global']['core:dataset'] = 'missing.bin'
  (tmp_path / 'foreign.sigmf-meta').write_text(json.dumps(meta))
  with pytest.raises(sigmf.SigMFError, match=r'missing\.bin: file not found \(the core:dataset of .*foreign'):
    recordings.read_recording(tmp_path / 'foreign.sigmf-meta')


def test_raw_npy_and_slice_implement_the_protocol(tmp_path):
  iq, raw = _ci16(3000)
  (tmp_path / 'iq.bin').write_bytes(raw)
  np.save(tmp_path / 'iq.npy', iq.astype('>c16'))  # big-endian complex128 maps like any other
  raw_rec = recordings.open_recording(str(tmp_path / 'iq.bin'), sample_rate=1e6, dtype='ci16', center_frequency=5e8)
  npy_rec = recordings.open_recording(str(tmp_path / 'iq.npy'), sample_rate=1e6, center_frequency=5e8)
  sigmf_rec = recordings.read_recording(sigmf.write_recording(tmp_path / 'iq', iq, 1e6, center_frequency=5e8,
                                                              datatype='ci16_le'))
  sliced = recordings.SliceRecording(sigmf_rec, 1000, 500)
  assert isinstance(raw_rec, recordings.RawRecording) and isinstance(npy_rec, recordings.ArrayRecording)
  for rec in (raw_rec, npy_rec, sigmf_rec, sliced):
    assert isinstance(rec, recordings.Recording), type(rec)
    assert rec.sample_rate == 1e6 and rec.center_frequency == 5e8
    assert rec.segments == (recordings.Segment(0, rec.num_samples, 5e8),)
  for rec in (raw_rec, npy_rec, sigmf_rec):
    np.testing.assert_array_equal(rec.read(), iq)
    np.testing.assert_array_equal(rec.read_segments(np.array([2990, 5]), 10), np.stack([iq[2990:], iq[5:15]]))
  np.testing.assert_array_equal(sliced.read(), iq[1000:1500])
  np.testing.assert_array_equal(sliced.read_segments(np.array([490]), 10), iq[None, 1490:1500])
  assert sliced.name == 'iq@1000' and sliced.num_samples == 500
  with pytest.raises(ValueError, match=r'iq\.sigmf-meta: samples \[490, 510\) outside the slice of 500'):
    sliced.read(490, 20)
  assert not isinstance(object(), recordings.Recording)
