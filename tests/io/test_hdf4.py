"""The HDF4 raster reader against files written by the HDF Group's tools (fixtures/make_hdf4_fixtures.py)."""

import pathlib

import numpy as np
import pytest

from specsense_jax.io import hdf4

FIXTURES = pathlib.Path(__file__).parent / 'fixtures' / 'hdf4'
EXPECTED = np.fromfile(FIXTURES / 'raster.raw', np.uint8).reshape(6, 300)


@pytest.mark.parametrize('name', ['raster_raw.hdf', 'raster_rle.hdf'])
def test_uncompressed_and_rle_rasters_decode_pixel_for_pixel(name):
  got = hdf4.read_raster8(FIXTURES / name)
  assert got.dtype == np.uint8 and got.shape == (6, 300)  # rows = y, the first row first
  np.testing.assert_array_equal(got, EXPECTED)


def test_rle_codes_runs_and_literals():
  # 3 literals, a run of 4 x 0xc8, 1 literal: the code HDF's DFCIrle writes (a byte >= 128 is a run)
  data = bytes([3, 1, 2, 255, 0x84, 200, 1, 7])
  np.testing.assert_array_equal(hdf4.decode_rle(data, 8), [1, 2, 255, 200, 200, 200, 200, 7])
  with pytest.raises(ValueError, match='x.hdf: RLE raster data end after 4 of 9 pixels'):
    hdf4.decode_rle(bytes([0x84, 1]), 9, 'x.hdf')


@pytest.mark.parametrize('name, compression', [('raster_imcomp.hdf', 'IMCOMP'), ('raster_jpeg.hdf', 'JPEG')])
def test_other_compressions_stop_naming_the_file_and_the_compression(name, compression):
  with pytest.raises(ValueError, match=rf'{name}: raster image compressed with {compression}'):
    hdf4.read_raster8(FIXTURES / name)


def test_bad_files_stop_naming_the_file(tmp_path):
  (tmp_path / 'label.hdf').write_bytes(b'\x89HDF\r\n\x1a\n' + bytes(100))  # an HDF5 signature
  with pytest.raises(ValueError, match=r'label.hdf: not an HDF4 file'):
    hdf4.read_raster8(tmp_path / 'label.hdf')
  data = (FIXTURES / 'raster_raw.hdf').read_bytes()
  (tmp_path / 'cut.hdf').write_bytes(data[:len(data) - 40])  # the raster's bytes cut short
  with pytest.raises(ValueError, match=r'cut.hdf: truncated HDF4 file'):
    hdf4.read_raster8(tmp_path / 'cut.hdf')
  with pytest.raises(ValueError, match=r'raster_raw.hdf: holds 1 raster image\(s\); index 1 is out of range'):
    hdf4.read_raster8(FIXTURES / 'raster_raw.hdf', index=1)
