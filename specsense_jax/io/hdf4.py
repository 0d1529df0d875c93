"""8-bit raster images from HDF4 files, in numpy: what MATLAB's `imwrite(X, 'f.hdf')` writes (the MathWorks
spectrum-sensing label files), read with no HDF library.

An HDF4 file (HDF Specification and Developer's Guide, v4.2, chapters 2-3 and 6) starts with the magic
0x0e031301; linked blocks of data descriptors (DDs: tag, ref, offset, length; big-endian) index its data
elements. A raster image is a Raster Image Group (RIG, tag 306) naming its Image Dimension record (ID, tag 300:
x and y size, number type, components, interlace, compression tag) and its data (RI 302, or CI 303 when
compressed), or, in files of the older RIS8 interface only, ID8 (200) with RI8 (202), CI8 (203, RLE) or II8
(204, IMCOMP). Data are row-major, the first row first, x the fastest. Uncompressed and run-length (DFTAG_RLE)
data are decoded; IMCOMP and JPEG stop with an error naming the file and the compression.
"""

from __future__ import annotations

import dataclasses
import os
import struct

import numpy as np

MAGIC = b'\x0e\x03\x13\x01'
# Tags (HDF Specification, Table 3a-3b).
TAG_NULL, TAG_ID8, TAG_RI8, TAG_CI8, TAG_II8 = 1, 200, 202, 203, 204
TAG_ID, TAG_RI, TAG_CI, TAG_RIG = 300, 302, 303, 306
TAG_RLE = 11
COMPRESSIONS = {0: 'none', TAG_RLE: 'RLE', 12: 'IMCOMP', 13: 'JPEG (24-bit)', 14: 'JPEG (8-bit)',
                15: 'JPEG (24-bit)', 16: 'JPEG (8-bit)'}
_UINT8_TYPES = (3, 4, 20, 21)  # DFNT_UCHAR8, DFNT_CHAR8, DFNT_INT8, DFNT_UINT8: one byte a pixel
_SPECIAL = 0x4000  # a tag with this bit (and not 0x8000) is a special element: linked, external, chunked...


@dataclasses.dataclass(frozen=True)
class _Descriptor:
  tag: int
  ref: int
  offset: int
  length: int


class _File:
  """The data descriptors of one HDF4 file, and its elements' bytes."""

  def __init__(self, path: str):
    self.path = path
    with open(path, 'rb') as f:
      self.data = f.read()
    if self.data[:4] != MAGIC:
      raise ValueError(f'{path}: not an HDF4 file (no magic number 0e031301 at its start; HDF5 files, which '
                       'h5py reads, are not HDF4)')
    self.descriptors: dict[tuple[int, int], _Descriptor] = {}
    block, seen = 4, set()
    while block:
      if block in seen or block + 6 > len(self.data):
        raise ValueError(f'{path}: truncated or corrupt HDF4 file (descriptor block at byte {block})')
      seen.add(block)
      count, following = struct.unpack_from('>HI', self.data, block)
      if block + 6 + 12 * count > len(self.data):
        raise ValueError(f'{path}: truncated HDF4 file (a descriptor block of {count} entries at byte {block})')
      for i in range(count):
        tag, ref, offset, length = struct.unpack_from('>HHII', self.data, block + 6 + 12 * i)
        if tag != TAG_NULL:
          self.descriptors[(tag, ref)] = _Descriptor(tag, ref, offset, length)
      block = following

  def element(self, tag: int, ref: int) -> bytes:
    d = self.descriptors.get((tag, ref))
    if d is None:
      special = self.descriptors.get((tag | _SPECIAL, ref))
      if special is not None:
        raise ValueError(f'{self.path}: raster data (tag {tag}, ref {ref}) is a special element (linked, '
                         'external, chunked or deflated), which this reader does not decode')
      raise ValueError(f'{self.path}: no data element with tag {tag} and ref {ref}, which the file refers to')
    if d.offset + d.length > len(self.data):
      raise ValueError(f'{self.path}: truncated HDF4 file (tag {tag}, ref {ref} ends at byte '
                       f'{d.offset + d.length}, past its {len(self.data)} bytes)')
    return self.data[d.offset:d.offset + d.length]

  def refs(self, tag: int) -> list[int]:
    return sorted(ref for t, ref in self.descriptors if t == tag)


def decode_rle(data: bytes, count: int, path: str = '') -> np.ndarray:
  """HDF's run-length code: a byte n < 128 is followed by n literal bytes, a byte 128 + n by one byte repeated n
  times; `count` bytes come out."""
  out = np.empty(count, np.uint8)
  buf = np.frombuffer(data, np.uint8)
  i = j = 0
  while j < count:
    if i >= len(buf):
      raise ValueError(f'{path}: RLE raster data end after {j} of {count} pixels')
    n = int(buf[i])
    if n & 0x80:
      n &= 0x7f
      if i + 1 >= len(buf) or j + n > count:
        raise ValueError(f'{path}: corrupt RLE raster data at byte {i}')
      out[j:j + n] = buf[i + 1]
      i, j = i + 2, j + n
    else:
      if i + 1 + n > len(buf) or j + n > count:
        raise ValueError(f'{path}: corrupt RLE raster data at byte {i}')
      out[j:j + n] = buf[i + 1:i + 1 + n]
      i, j = i + 1 + n, j + n
  return out


def _decode(file: _File, tag: int, ref: int, compression: int, shape: tuple[int, int]) -> np.ndarray:
  if compression not in (0, TAG_RLE):
    name = COMPRESSIONS.get(compression, f'tag {compression}')
    raise ValueError(f'{file.path}: raster image compressed with {name}; only uncompressed and RLE 8-bit raster '
                     'images are read (re-save the label without compression)')
  data, count = file.element(tag, ref), shape[0] * shape[1]
  if compression == TAG_RLE:
    return decode_rle(data, count, file.path).reshape(shape)
  if len(data) != count:
    raise ValueError(f'{file.path}: raster image of {shape[1]}x{shape[0]} pixels holds {len(data)} bytes, '
                     f'not {count}')
  return np.frombuffer(data, np.uint8).reshape(shape).copy()


def _from_group(file: _File, ref: int) -> np.ndarray:
  members = np.frombuffer(file.element(TAG_RIG, ref), '>u2').reshape(-1, 2)
  found = {int(t): int(r) for t, r in members}
  if TAG_ID not in found or not ({TAG_RI, TAG_CI} & set(found)):
    raise ValueError(f'{file.path}: raster image group {ref} lacks its dimension record or its data')
  record = file.element(TAG_ID, found[TAG_ID])
  if len(record) < 20:
    raise ValueError(f'{file.path}: image dimension record {found[TAG_ID]} is {len(record)} bytes, not 20')
  xdim, ydim, nt_tag, nt_ref, components, _, compression, _ = struct.unpack_from('>iiHHhhHH', record)
  number_type = file.element(nt_tag, nt_ref) if (nt_tag, nt_ref) in file.descriptors else b''
  if components != 1 or (len(number_type) >= 2 and number_type[1] not in _UINT8_TYPES):
    raise ValueError(f'{file.path}: raster image {ref} is not an 8-bit image ({components} components, number '
                     f'type {number_type[1] if len(number_type) >= 2 else "unknown"}); only 8-bit rasters are read')
  tag = TAG_CI if TAG_CI in found else TAG_RI
  return _decode(file, tag, found[tag], compression, (ydim, xdim))


def _from_ris8(file: _File, ref: int) -> np.ndarray:
  xdim, ydim = struct.unpack('>HH', file.element(TAG_ID8, ref)[:4])
  for tag, compression in ((TAG_RI8, 0), (TAG_CI8, TAG_RLE), (TAG_II8, 12)):
    if (tag, ref) in file.descriptors:
      return _decode(file, tag, ref, compression, (ydim, xdim))
  raise ValueError(f'{file.path}: image dimensions {ref} have no raster data')


def read_raster8(path: str | os.PathLike, index: int = 0) -> np.ndarray:
  """The `index`-th 8-bit raster image of an HDF4 file, uint8 (rows, columns) as stored.

  ValueError naming the file for anything that is not an uncompressed or RLE 8-bit raster image (another
  compression names itself), and for truncated or corrupt files.
  """
  file = _File(os.fspath(path))
  groups = file.refs(TAG_RIG)
  images = [('rig', r) for r in groups] or [('ris8', r) for r in file.refs(TAG_ID8)]
  if not images:
    raise ValueError(f'{path}: holds no raster image')
  if not 0 <= index < len(images):
    raise ValueError(f'{path}: holds {len(images)} raster image(s); index {index} is out of range')
  kind, ref = images[index]
  return _from_group(file, ref) if kind == 'rig' else _from_ris8(file, ref)
