"""IQ -> spectrogram image, and annotations -> pixel label masks.

Images are uint8 (H, W, 3): rows are time (row 0 = frame start), columns frequency from -fs/2 to +fs/2.

`matlab` mode reproduces `spectrogram(x, hann(256), 10, 4096, fs, 'centered', 'psd')`, 10·log10, nearest
resize to H×W, min-max to [0, 1], colormap — but computes only the H segments and W frequency bins the
nearest resize keeps (a DFT of 256 samples at W frequencies), not all ~10,000 × 4,096. One difference from
MATLAB: MATLAB normalizes before the resize (over all segments and bins), this normalizes the resized image,
so a strong bin the resize skips does not dim the whole image. `average` mode gives each pixel the mean PSD
of all the samples and FFT bins it covers (Welch-style), which is less noisy and still cheap.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.signal

from specsense_jax import portable_math
from specsense_jax.constants import BURSTY_LABELS
from specsense_jax.constants import CLASS_IDS
from specsense_jax.constants import CN0_KEY
from specsense_jax.constants import IGNORE_LABEL
from specsense_jax.constants import NO_LABEL
from specsense_jax.constants import SPREAD_KEY

MATLAB_WINDOW = 256
MATLAB_OVERLAP = 10
MATLAB_NFFT = 4096
SPECTROGRAM_MODES = ('matlab', 'average')
MASK_MODES = ('band', 'occupancy')
_EPS = np.finfo(np.float64).eps  # MATLAB's eps, added before the log

# Anchor colours along MATLAB's parula map (approximate; exact colour parity with MATLAB is not claimed).
_PARULA_ANCHORS = np.array([
    [0.2422, 0.1504, 0.6603], [0.2810, 0.3228, 0.9579], [0.1786, 0.5289, 0.9682], [0.0689, 0.6948, 0.8394],
    [0.2161, 0.7843, 0.5923], [0.6720, 0.7793, 0.2227], [0.9970, 0.7659, 0.2199], [0.9657, 0.8838, 0.1811],
    [0.9769, 0.9839, 0.0805]])


@functools.lru_cache(maxsize=None)
def _colormap_table(name: str) -> np.ndarray:
  """(256, 3) uint8 lookup table."""
  x = np.linspace(0, 1, 256)
  if name == 'parula':
    anchors = np.linspace(0, 1, len(_PARULA_ANCHORS))
    rgb = np.stack([np.interp(x, anchors, _PARULA_ANCHORS[:, c]) for c in range(3)], axis=1)
  elif name == 'gray':
    rgb = np.repeat(x[:, None], 3, axis=1)
  else:
    raise ValueError(f'colormap must be one of {COLORMAPS}, got {name!r}')
  return np.round(rgb * 255).astype(np.uint8)


COLORMAPS = ('parula', 'gray')


def nearest_indices(num_in: int, num_out: int) -> np.ndarray:
  """Source index of each output sample under MATLAB's imresize(..., 'nearest') (0-based)."""
  return np.minimum(((np.arange(num_out) + 0.5) * num_in / num_out).astype(np.int64), num_in - 1)


def matlab_centered_bins(nfft: int) -> np.ndarray:
  """FFT bin of each column of MATLAB's 'centered' spectrum: (-fs/2, fs/2] for even nfft."""
  return np.arange(nfft) - (nfft - 1) // 2 if nfft % 2 else np.arange(nfft) - nfft // 2 + 1


def _check_iq(iq: np.ndarray, sample_rate: float, size) -> tuple[np.ndarray, int, int]:
  iq = np.asarray(iq)
  if iq.ndim != 1:
    raise ValueError(f'iq must be 1-D, got shape {iq.shape}')
  # A float32 sum of the components reads the samples once without a boolean temporary and is finite when every
  # component is, unless large samples overflow it: then the exact check decides.
  if (iq.size and not np.isfinite(np.add.reduce(_components(iq), dtype=np.float32))
      and not np.all(np.isfinite(iq))):
    raise ValueError('iq contains non-finite samples (NaN or Inf)')
  if not (np.isfinite(sample_rate) and sample_rate > 0):
    raise ValueError(f'sample_rate must be a finite positive number, got {sample_rate!r}')
  height, width = _check_size(size)
  return iq.astype(np.complex64, copy=False), height, width


def _components(iq: np.ndarray) -> np.ndarray:
  """The real components of `iq` as one array (a view for contiguous complex input)."""
  if np.iscomplexobj(iq):
    return np.ascontiguousarray(iq).view(iq.real.dtype)
  return iq


def _check_size(size) -> tuple[int, int]:
  try:
    height, width = (int(s) for s in size)
  except (TypeError, ValueError):
    raise ValueError(f'size must be (height, width), got {size!r}') from None
  if height < 1 or width < 1:
    raise ValueError(f'size must be positive, got {size!r}')
  return height, width


def matlab_segment_starts(num_samples: int, height: int) -> np.ndarray:
  """First sample of the spectrogram segment each image row keeps (nearest resize of all segments)."""
  if num_samples < MATLAB_WINDOW:
    raise ValueError(f'matlab mode needs at least {MATLAB_WINDOW} samples, got {num_samples}')
  hop = MATLAB_WINDOW - MATLAB_OVERLAP
  num_segments = (num_samples - MATLAB_OVERLAP) // hop
  return nearest_indices(num_segments, height) * hop


def matlab_sample_indices(num_samples: int, height: int) -> np.ndarray:
  """(H, 256) indices of every sample `matlab` mode reads: all a frame must provide for an image."""
  return matlab_segment_starts(num_samples, height)[:, None] + np.arange(MATLAB_WINDOW)


def matlab_psd_db_from_segments(segments: np.ndarray, sample_rate: float, width: int) -> np.ndarray:
  """PSD in dB of (H, 256) segments at the W frequency bins the nearest resize keeps."""
  window = _matlab_window()
  weights, bins = _matlab_bin_plan(width)
  if weights is None:
    spectrum = scipy.fft.fft(segments * window.astype(np.float32), MATLAB_NFFT, axis=1)[:, bins]
  else:
    spectrum = _folded_dft(segments, weights, width)
  power = portable_math.abs2(spectrum).astype(np.float64)
  return portable_math.power_to_db(power / (sample_rate * np.sum(window ** 2)) + _EPS)


def _folded_dft(segments: np.ndarray, weights: np.ndarray, width: int) -> np.ndarray:
  # Bins b0 + s j (s = NFFT / W): X[b0 + s j] = sum_n x[n] w[n] e^{-2 pi i b0 n / NFFT} e^{-2 pi i j n / W}, a W-point
  # DFT of the modulated segment folded modulo W. An FFT, not a product with the DFT matrix: BLAS's sums differ
  # between CPUs, the FFT's do not.
  modulated = portable_math.cmul(segments, weights[None, :])
  length = -(-MATLAB_WINDOW // width) * width
  if length != MATLAB_WINDOW:
    modulated = np.concatenate([modulated, np.zeros((len(modulated), length - MATLAB_WINDOW), np.complex64)], axis=1)
  folded = modulated.reshape(len(modulated), length // width, width).sum(axis=1)
  return scipy.fft.fft(folded, axis=1)


@functools.lru_cache(maxsize=1)
def _matlab_window() -> np.ndarray:
  """MATLAB's hann(256), symmetric (read-only)."""
  window = portable_math.hann(MATLAB_WINDOW, sym=True)
  window.flags.writeable = False
  return window


@functools.lru_cache(maxsize=8)
def _matlab_bin_plan(width: int) -> tuple[np.ndarray | None, np.ndarray]:
  """(weights, bins): the Hann window times the modulation to the first kept bin (read-only complex64), when the
  W kept bins are evenly spaced by NFFT / W (then the folded DFT finds them), else None; and the kept FFT bins."""
  bins = matlab_centered_bins(MATLAB_NFFT)[nearest_indices(MATLAB_NFFT, width)]
  if MATLAB_NFFT % width or np.any(np.diff(bins) != MATLAB_NFFT // width):
    return None, bins % MATLAB_NFFT
  n = np.arange(MATLAB_WINDOW)
  modulation = portable_math.cis(-2 * np.pi * np.mod(bins[0] * n, MATLAB_NFFT) / MATLAB_NFFT)
  weights = (modulation * _matlab_window()).astype(np.complex64)  # a real factor
  weights.flags.writeable = False
  return weights, bins % MATLAB_NFFT


def _matlab_psd_db(iq: np.ndarray, sample_rate: float, height: int, width: int) -> np.ndarray:
  segments = iq[matlab_sample_indices(len(iq), height)]
  return matlab_psd_db_from_segments(segments, sample_rate, width)


def average_nfft(width: int) -> int:
  """FFT length of average mode: at least 1024 bins, a whole number per image column."""
  return width * -(-1024 // width)


def average_segment_starts(num_samples: int, height: int, width: int) -> np.ndarray:
  """Where average mode's FFT segments (`average_nfft(width)` samples) of a frame of `num_samples` start: spread
  evenly over each of the `height` rows so every sample of the row is covered, the same number per row."""
  nfft = average_nfft(width)
  edges = (np.arange(height + 1) * num_samples) // height
  row_len = int(np.min(np.diff(edges)))
  if row_len < nfft:
    raise ValueError(f'average mode needs at least {nfft} samples per image row, got {row_len} '
                     f'({num_samples} samples over {height} rows)')
  per_row = -(-row_len // nfft)
  offsets = np.round(np.linspace(0, row_len - nfft, per_row)).astype(np.int64)
  return (edges[:-1, None] + offsets[None, :]).reshape(-1)


@functools.lru_cache(maxsize=4)
def average_window(width: int) -> np.ndarray:
  """Average mode's periodic Hann window of `average_nfft(width)` samples, float32 (read-only)."""
  window = portable_math.hann(average_nfft(width), sym=False).astype(np.float32)
  window.flags.writeable = False
  return window


def average_psd_db_from_segments(segments: np.ndarray, sample_rate: float, height: int, width: int) -> np.ndarray:
  """PSD in dB on the (H, W) grid from the frame's segments at `average_segment_starts` (complex64
  (H * per_row, nfft), a copy of its own: windowed and transformed in place)."""
  nfft = average_nfft(width)
  per_row = len(segments) // height
  segments *= average_window(width)
  # every core: pocketfft splits the segments between threads, each transform computed as with one
  power = portable_math.abs2(scipy.fft.fft(segments, axis=1, overwrite_x=True, workers=-1))
  # Sum a row's segments first: the shift and the bin sums then touch one spectrum per row.
  power = scipy.fft.fftshift(power.reshape(height, per_row, nfft).sum(axis=1), axes=1)
  power = power.reshape(height, width, nfft // width).sum(axis=2) / (per_row * (nfft // width))
  window = average_window(width).astype(np.float64)
  return portable_math.power_to_db(power / (sample_rate * np.sum(window ** 2)) + _EPS)


def _average_psd_db(iq: np.ndarray, sample_rate: float, height: int, width: int) -> np.ndarray:
  starts = average_segment_starts(len(iq), height, width)
  segments = np.lib.stride_tricks.sliding_window_view(iq, average_nfft(width))[starts]  # row copies, no gather
  return average_psd_db_from_segments(segments, sample_rate, height, width)


_PSD = {'matlab': _matlab_psd_db, 'average': _average_psd_db}


def spectrogram_db(iq: np.ndarray, sample_rate: float, size=(128, 128), mode: str = 'matlab') -> np.ndarray:
  """PSD in dB on the (H, W) pixel grid, before normalization."""
  if mode not in _PSD:
    raise ValueError(f'mode must be one of {SPECTROGRAM_MODES}, got {mode!r}')
  iq, height, width = _check_iq(iq, sample_rate, size)
  return _PSD[mode](iq, float(sample_rate), height, width)


def to_grey_levels(psd_db: np.ndarray) -> np.ndarray:
  """Min-max normalization of an image to uint8 grey levels 0..255 (a flat image maps to 0)."""
  lo, hi = float(psd_db.min()), float(psd_db.max())
  scaled = (psd_db - lo) / (hi - lo) if hi > lo else np.zeros_like(psd_db)
  return np.round(scaled * 255).astype(np.uint8)


# Floor-referenced scaling: the noise floor (a low percentile of the image, so one bright spur cannot move it) at
# FLOOR_GREY, and FLOOR_SPAN_DB above it at 255; what lies further below the floor clips at 0.
FLOOR_PERCENTILE = 10.0
FLOOR_GREY = 64
FLOOR_SPAN_DB = 40.0


def floor_grey_levels(psd_db: np.ndarray, *, floor_grey: int = FLOOR_GREY, span_db: float = FLOOR_SPAN_DB,
                      percentile: float = FLOOR_PERCENTILE) -> np.ndarray:
  """Floor-referenced uint8 grey levels: the image's noise floor (its `percentile`-th dB value) maps to
  `floor_grey` and `span_db` above it to 255, clipped. Unlike min-max, a single bright spur leaves the noise at
  the same grey level, as the captures' DC spurs would not (they push min-max noise down to grey ~28)."""
  if not 0 <= floor_grey < 255:
    raise ValueError(f'floor_grey must be in [0, 255), got {floor_grey!r}')
  if not span_db > 0:
    raise ValueError(f'span_db must be positive, got {span_db!r}')
  if not 0 <= percentile <= 100:
    raise ValueError(f'percentile must be in [0, 100], got {percentile!r}')
  floor = float(np.percentile(psd_db, percentile))
  grey = floor_grey + (psd_db - floor) * ((255 - floor_grey) / span_db)
  return np.round(np.clip(grey, 0, 255)).astype(np.uint8)


# Image scalings by name: PSD dB -> uint8 grey levels.
SCALINGS = {'minmax': to_grey_levels, 'floor': floor_grey_levels}


def grey_levels(psd_db: np.ndarray, scaling: str = 'minmax') -> np.ndarray:
  """The grey levels of a PSD image by a `SCALINGS` name ('minmax' is MATLAB's)."""
  if scaling not in SCALINGS:
    raise ValueError(f'scaling must be one of {sorted(SCALINGS)}, got {scaling!r}')
  return SCALINGS[scaling](psd_db)


def spectrogram_image(iq: np.ndarray, sample_rate: float, size=(128, 128), mode: str = 'matlab',
                      colormap: str = 'parula', scaling: str = 'minmax') -> np.ndarray:
  """Spectrogram image of a frame.

  Args:
    iq: 1-D complex samples.
    sample_rate: samples per second.
    size: (height, width) in pixels; height is time, width frequency.
    mode: 'matlab' (parity with the MathWorks example) or 'average' (mean PSD per pixel).
    colormap: 'parula' or 'gray'.
    scaling: 'minmax' (MATLAB's) or 'floor' (floor-referenced, `floor_grey_levels`).

  Returns:
    uint8 (H, W, 3).
  """
  return colorize(grey_levels(spectrogram_db(iq, sample_rate, size, mode), scaling), colormap)


def colorize(grey: np.ndarray, colormap: str = 'parula') -> np.ndarray:
  """uint8 grey levels -> uint8 RGB through a 256-entry colormap."""
  return _colormap_table(colormap)[grey]


@functools.lru_cache(maxsize=None)
def colour_keys(colormap: str = 'parula') -> tuple[np.ndarray, np.ndarray]:
  """The colormap's RGB triplets as sorted int32 keys r·65536 + g·256 + b, each with its grey level (the first
  where two levels share a colour, as a nearest-colour search finds)."""
  rgb = _colormap_table(colormap).reshape(256, 3).astype(np.int64)
  keys = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
  unique, first = np.unique(keys, return_index=True)
  return unique.astype(np.int32), first.astype(np.int32)


def decolorize(rgb: np.ndarray, colormap: str = 'parula') -> np.ndarray:
  """uint8 RGB (..., 3) -> uint8 grey levels: the inverse of `colorize` for its images; ValueError when a pixel
  is no colour of the map (a resampled or compressed image)."""
  rgb = np.asarray(rgb)
  keys, grey = colour_keys(colormap)
  wide = rgb.astype(np.int64)
  pixel_keys = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
  at = np.minimum(np.searchsorted(keys, pixel_keys), len(keys) - 1)
  if rgb.dtype != np.uint8 or not (keys[at] == pixel_keys).all():
    raise ValueError(f'decolorize: the image ({rgb.dtype}) has pixels that are no colour of the {colormap} map')
  return grey[at].astype(np.uint8)


def frequency_columns(freq_lower: float, freq_upper: float, sample_rate: float, width: int
                      ) -> tuple[int, int] | None:
  """Inclusive column range of a band, MATLAB's floor((fs/2 + f)/(fs/W)) (0-based); None if outside."""
  if freq_upper < -sample_rate / 2 or freq_lower > sample_rate / 2 or freq_upper < freq_lower:
    return None
  lo = int(np.floor((sample_rate / 2 + freq_lower) / (sample_rate / width)))
  hi = int(np.floor((sample_rate / 2 + freq_upper) / (sample_rate / width)))
  return max(lo, 0), min(hi, width - 1)


def time_rows(sample_start: float, sample_count: float, num_samples: int, height: int
              ) -> tuple[int, int] | None:
  """Inclusive row range of a sample span; None if it is empty or outside the frame."""
  end = min(sample_start + sample_count, num_samples)
  start = max(sample_start, 0)
  if end <= start:
    return None
  return int(start * height // num_samples), int((end - 1) * height // num_samples)


_REQUIRED_KEYS = ('label', 'freq_lower_edge', 'freq_upper_edge', 'sample_start', 'sample_count')


def _window_shares(read_starts: np.ndarray, start: float, count: float) -> np.ndarray:
  """Per read starting at `read_starts`: the share of the Hann window's energy a burst of `count` samples from
  `start` falls in."""
  energy = _matlab_window_energy()
  first = np.clip(np.floor(start - read_starts), 0, MATLAB_WINDOW).astype(np.int64)
  last = np.clip(np.ceil(start + count - read_starts), 0, MATLAB_WINDOW).astype(np.int64)
  return (energy[last] - energy[first]) / energy[-1]


def _stands_over_noise(read_starts: np.ndarray, start: float, count: float, band_hz: float, cn0_dbhz: float,
                       sample_rate: float) -> np.ndarray:
  """bool per read: whether a burst of `count` samples from `start`, `cn0_dbhz` over the noise density, spread
  over `band_hz` (at least the window's resolution), stands over the noise in the reads starting at `read_starts`:
  the share of the Hann window's energy it falls in, times its power over the noise in its band, at least 1."""
  over_noise = portable_math.db_to_power(cn0_dbhz) / max(band_hz, sample_rate / MATLAB_WINDOW)
  return _window_shares(read_starts, start, count) * over_noise >= 1.0


def _visible_spans(excess: np.ndarray, spread: dict) -> list[tuple[float, float] | None]:
  """Per read with `excess` (window share times power over the noise density), the band [lo, hi] (Hz) where a
  pulse of spectral spread `spread` (`SPREAD_KEY`) stands over the noise, or None where it stands nowhere."""
  offsets = np.asarray(spread['offset_hz'], np.float64)
  levels = portable_math.db_to_power(np.asarray(spread['level_db'], np.float64))
  centre = float(spread['centre_hz'])
  # the reach: the offsets from the centre out, up to the first whose level the excess does not lift over 1
  shown = levels[None, :] * np.asarray(excess, np.float64)[:, None] >= 1.0
  reach = np.where(shown.all(axis=1), len(levels), np.argmin(shown, axis=1))
  return [None if k == 0 else (centre - offsets[k - 1], centre + offsets[k - 1]) for k in reach]


def _mark_spread(mask: np.ndarray, rows: np.ndarray, spans: list[tuple[float, float] | None],
                 main_cols: tuple[int, int], class_id: int, sample_rate: float) -> None:
  """Marks (in place) each row's visible band of a pulse: over its main lobe's columns `main_cols` it wins, beyond
  them, where it shows over a carrier, it does not (only Noise pixels take it)."""
  for row, span in zip(rows, spans):
    span_cols = span and frequency_columns(span[0], span[1], sample_rate, mask.shape[1])
    if span_cols:
      columns = np.arange(span_cols[0], span_cols[1] + 1)
      line = mask[row, span_cols[0]:span_cols[1] + 1]  # a view: writes land in `mask`
      line[((columns >= main_cols[0]) & (columns <= main_cols[1])) | (line == 0)] = class_id


@functools.lru_cache(maxsize=1)
def _matlab_window_energy() -> np.ndarray:
  """Cumulative energy of MATLAB's hann(256) from its first sample (257 values, 0 first)."""
  window = _matlab_window().astype(np.float64)
  return np.concatenate([[0.0], np.cumsum(window * window)])


def label_mask(annotations, sample_rate: float, num_samples: int, size=(128, 128), mode: str = 'band',
               class_ids: dict[str, int] | None = None, spectrogram_mode: str = 'average') -> np.ndarray:
  """Rasterizes SigMF-shaped annotations into a class-id mask.

  Args:
    annotations: dicts with label, freq_lower_edge, freq_upper_edge (Hz relative to the centre),
      sample_start, sample_count; optionally `occupancy` ((K, 4) cells [sample_start, sample_count,
      freq_lower_edge, freq_upper_edge]) for `occupancy` mode.
    sample_rate: samples per second of the frame.
    num_samples: frame length in samples.
    size: (height, width).
    mode: 'band': each annotation's nominal band over its time span (MATLAB parity; a synthetic frame's
      signals span every row). 'occupancy': only its occupied cells (the band where none are given).
    class_ids: label -> id; default `CLASS_IDS` (any other label is Unknown). An annotation labelled
      `IGNORE_LABEL` ('Ignore') marks its region NO_LABEL (255), over any other annotation.
    spectrogram_mode: the image's mode. In 'matlab' mode a row shows only the 256 samples its segment reads, so an
      occupancy cell marks the rows whose read window it overlaps (a burst between two windows marks none); in
      'average' mode a row covers its whole time span. Band annotations cover their span's rows in both, except
      those of `BURSTY_LABELS` (a WLAN packet, a radar pulse), which in 'matlab' mode mark the rows whose read
      window they overlap in both mask modes. One that carries `CN0_KEY` (its power over the noise density) marks
      only the reads where it stands over the noise (its share of the Hann window's energy times its power over
      the noise in its band, at least 1), over its occupancy cells in both mask modes (a chirp's swept bands); one
      that also carries `SPREAD_KEY` (an unchirped pulse) marks in each such read the columns where its spectrum
      stands over the noise (a strong pulse's edges light bands far beyond its main lobe).

  Returns:
    uint8 (H, W), 0 where no annotation falls.
  """
  # Ignore regions last, so that they win wherever they overlap a labelled one (indices kept for the errors).
  annotations = sorted(enumerate(annotations), key=lambda item: item[1].get('label') == IGNORE_LABEL)
  if mode not in MASK_MODES:
    raise ValueError(f'mode must be one of {MASK_MODES}, got {mode!r}')
  if not (np.isfinite(sample_rate) and sample_rate > 0):
    raise ValueError(f'sample_rate must be a finite positive number, got {sample_rate!r}')
  if int(num_samples) != num_samples or num_samples < 1:
    raise ValueError(f'num_samples must be a positive integer, got {num_samples!r}')
  height, width = _check_size(size)
  if spectrogram_mode not in SPECTROGRAM_MODES:
    raise ValueError(f'spectrogram_mode must be one of {SPECTROGRAM_MODES}, got {spectrogram_mode!r}')
  class_ids = class_ids or CLASS_IDS
  mask = np.zeros((height, width), np.uint8)
  read_starts = None  # matlab mode's segment starts, computed when a cell or a bursty annotation needs them
  for i, ann in annotations:
    missing = [k for k in _REQUIRED_KEYS if k not in ann]
    if missing:
      raise ValueError(f'annotation {i} lacks key(s) {missing}; required: {list(_REQUIRED_KEYS)}')
    class_id = NO_LABEL if ann['label'] == IGNORE_LABEL else class_ids.get(
        ann['label'], class_ids.get('Unknown', CLASS_IDS['Unknown']))
    bursty = ann['label'] in BURSTY_LABELS and spectrogram_mode == 'matlab'
    visible_only = bursty and CN0_KEY in ann  # labelled where a read shows it, a chirp over its swept cells
    from_cells = (mode == 'occupancy' or visible_only) and ann.get('occupancy') is not None
    if from_cells:
      cells = np.asarray(ann['occupancy'], np.float64).reshape(-1, 4)
    else:
      cells = np.array([[ann['sample_start'], ann['sample_count'], ann['freq_lower_edge'],
                         ann['freq_upper_edge']]], np.float64)
    if not np.all(np.isfinite(cells)):
      raise ValueError(f'annotation {i} ({ann["label"]}) has non-finite edges or sample span')
    for s0, n, f_lo, f_hi in cells:
      cols = frequency_columns(f_lo, f_hi, sample_rate, width)
      if not cols:
        continue
      if (from_cells or bursty) and spectrogram_mode == 'matlab':
        # rows whose read window [start, start + 256) meets the cell
        if read_starts is None:
          read_starts = matlab_segment_starts(int(num_samples), height)
        lo = np.searchsorted(read_starts, s0 - MATLAB_WINDOW, side='right')
        hi = np.searchsorted(read_starts, s0 + n, side='left')
        rows = np.arange(lo, hi)
        if visible_only and ann.get(SPREAD_KEY) is not None:  # a pulse's columns follow its spectrum
          excess = _window_shares(read_starts[rows], s0, n) * portable_math.db_to_power(ann[CN0_KEY])
          _mark_spread(mask, rows, _visible_spans(excess, ann[SPREAD_KEY]), cols, class_id, sample_rate)
          continue
        if visible_only:
          rows = rows[_stands_over_noise(read_starts[rows], s0, n, f_hi - f_lo, ann[CN0_KEY], sample_rate)]
        mask[rows, cols[0]:cols[1] + 1] = class_id
        continue
      rows = time_rows(s0, n, int(num_samples), height)
      if rows:
        mask[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = class_id
  return mask
