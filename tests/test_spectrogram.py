"""Spectrogram images and label masks against direct computations and MATLAB's formulas."""

import numpy as np
import pytest
import scipy.signal

from specsense_jax import constants
from specsense_jax import spectrogram
from specsense_jax.signals import generate_frame
from specsense_jax.signals import SceneConfig


def _direct_matlab_grey(iq, fs, size):
  """The full computation: every segment and bin, then nearest resize and min-max over the image."""
  _, _, s = scipy.signal.spectrogram(iq, fs, window=scipy.signal.windows.hann(256, sym=True), noverlap=10,
                                     nfft=4096, return_onesided=False, detrend=False, scaling='density')
  s = np.roll(np.fft.fftshift(s, axes=0), -1, axis=0)  # MATLAB 'centered', even nfft: (-fs/2, fs/2]
  p = 10 * np.log10(s.T + np.finfo(np.float64).eps)
  rows = np.floor((np.arange(size[0]) + 0.5) * p.shape[0] / size[0]).astype(int)
  cols = np.floor((np.arange(size[1]) + 0.5) * p.shape[1] / size[1]).astype(int)
  return spectrogram.to_grey_levels(p[rows][:, cols])


@pytest.mark.parametrize('size', [(128, 128), (256, 256)])
def test_matlab_mode_equals_direct_full_computation(size):
  frame = generate_frame(11)
  ours = spectrogram.to_grey_levels(spectrogram.spectrogram_db(frame.iq, frame.sample_rate, size, 'matlab'))
  direct = _direct_matlab_grey(frame.iq, frame.sample_rate, size)
  assert np.abs(ours.astype(int) - direct).max() <= 1


def test_image_format_and_time_axis():
  fs, n = 61.44e6, 2_457_600
  iq = np.zeros(n, np.complex64)
  iq[: n // 2] = np.exp(2j * np.pi * 10e6 * np.arange(n // 2) / fs)  # tone in the first half only
  iq += 1e-3 * np.random.default_rng(0).standard_normal(n).astype(np.complex64)
  for mode in ('matlab', 'average'):
    image = spectrogram.spectrogram_image(iq, fs, (128, 128), mode)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    grey = spectrogram.to_grey_levels(spectrogram.spectrogram_db(iq, fs, (128, 128), mode))
    col = int((fs / 2 + 10e6) // (fs / 128))
    assert grey[:60, col].min() > 200
    assert grey[70:, col].max() < grey[:60, col].min()


def test_average_mode_puts_tone_in_its_column():
  fs, n = 61.44e6, 2_457_600
  f0 = -12.3e6
  iq = np.exp(2j * np.pi * f0 * np.arange(n) / fs).astype(np.complex64)
  db = spectrogram.spectrogram_db(iq, fs, (64, 128), 'average')
  assert set(np.argmax(db, axis=1)) == {int(np.floor((fs / 2 + f0) / (fs / 128)))}


def test_mask_band_edges_on_matlab_columns():
  fs, n = 61.44e6, 2_457_600
  ann = [{'label': 'NR', 'freq_lower_edge': -10e6, 'freq_upper_edge': 10e6, 'sample_start': 0,
          'sample_count': n},
         {'label': 'LTE', 'freq_lower_edge': 12e6, 'freq_upper_edge': 27e6, 'sample_start': 0,
          'sample_count': n}]
  mask = spectrogram.label_mask(ann, fs, n, (128, 128))
  # floor((30.72 - 10) / 0.48) = 43, floor(40.72 / 0.48) = 84; floor(42.72 / 0.48) = 89, floor(57.72 / .48) = 120
  expected = np.zeros(128, np.uint8)
  expected[43:85] = 1
  expected[89:121] = 2
  assert np.all(mask == expected[None, :])


def test_mask_time_span_unknown_label_and_outside_band():
  n = 1000
  ann = [{'label': 'WiFi', 'freq_lower_edge': 0, 'freq_upper_edge': 1e5, 'sample_start': 250,
          'sample_count': 250},
         {'label': 'NR', 'freq_lower_edge': 2e6, 'freq_upper_edge': 3e6, 'sample_start': 0, 'sample_count': n}]
  mask = spectrogram.label_mask(ann, 1e6, n, (8, 10))
  assert set(np.flatnonzero(mask.any(axis=1))) == {2, 3}
  assert np.all(mask[2:4, 5] == 3)


def test_occupancy_mask_is_inside_band_mask():
  config = SceneConfig(scenes=('nr',), nr_bandwidths_mhz=(40,), nr_scs_khz=(30,))
  frame = generate_frame(5, config)
  args = (frame.annotations, frame.sample_rate, len(frame.iq), (256, 256))
  band = spectrogram.label_mask(*args, mode='band')
  occupancy = spectrogram.label_mask(*args, mode='occupancy')
  assert np.all(band[occupancy > 0] == occupancy[occupancy > 0])
  assert 0 < (occupancy > 0).sum() < (band > 0).sum()


def test_bad_inputs():
  with pytest.raises(ValueError, match='non-finite'):
    spectrogram.spectrogram_image(np.array([np.nan] * 1000, np.complex64), 1e6)
  with pytest.raises(ValueError, match='1-D'):
    spectrogram.spectrogram_image(np.zeros((2, 1000), np.complex64), 1e6)
  with pytest.raises(ValueError, match='mode'):
    spectrogram.spectrogram_image(np.zeros(1000, np.complex64), 1e6, mode='welch')
  with pytest.raises(ValueError, match='size'):
    spectrogram.spectrogram_image(np.zeros(1000, np.complex64), 1e6, size=(0, 4))
  with pytest.raises(ValueError, match=r"lacks key\(s\) \['sample_count'\]"):
    spectrogram.label_mask([{'label': 'NR', 'freq_lower_edge': 0, 'freq_upper_edge': 1, 'sample_start': 0}],
                           1e6, 100)
  with pytest.raises(ValueError, match='mode'):
    spectrogram.label_mask([], 1e6, 100, mode='energy')


@pytest.mark.parametrize('height,width,row_len,extra', [
    (16, 128, 2560, 7),   # nfft 1024, 8 bins a column; 3 segments a row, 768 apart (256 overlap); rows of 2560-2561
    (8, 100, 3300, 0),    # nfft 1100, 11 bins a column; 3 segments a row, back to back
])
def test_average_mode_equals_welch_on_each_rows_segments(height, width, row_len, extra):
  """Average mode is Welch's PSD of each row: periodic Hann segments of `average_nfft(width)` samples spread
  evenly over the row (the first at the row's first sample, floor(r·N/H), the last ending at its last), averaged
  with density scaling, then the mean over each column's bins."""
  fs = 61.44e6
  n = height * row_len + extra
  rng = np.random.default_rng(3)
  iq = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)
  iq += 3 * np.exp(2j * np.pi * 7.3e6 * np.arange(n) / fs)  # a tone 19.8 dB above the noise in its bins
  iq = iq.astype(np.complex64)
  ours = spectrogram.spectrogram_db(iq, fs, (height, width), 'average')
  nfft = spectrogram.average_nfft(width)
  per_row = -(-row_len // nfft)
  hop = (row_len - nfft) // (per_row - 1)
  assert (nfft, per_row) == ((1024, 3) if width == 128 else (1100, 3))
  expected = np.empty((height, width))
  for r in range(height):
    start = r * n // height
    _, psd = scipy.signal.welch(iq[start:start + row_len].astype(np.complex128), fs, window='hann', nperseg=nfft,
                                noverlap=nfft - hop, detrend=False, return_onesided=False, scaling='density')
    expected[r] = np.fft.fftshift(psd).reshape(width, nfft // width).mean(axis=1)
  expected = 10 * np.log10(expected + np.finfo(np.float64).eps)
  # float32 FFTs against float64 ones: ~1e-6 relative in power, i.e. ~5e-6 dB; 1e-4 dB leaves a 20x margin.
  np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)
  tone_column = int((fs / 2 + 7.3e6) // (fs / width))
  assert set(np.argmax(ours, axis=1)) == {tone_column}


def test_matlab_mode_occupancy_marks_only_rows_whose_read_window_meets_the_cell():
  fs, n, height = 1e6, 40_000, 8
  starts = spectrogram.matlab_segment_starts(n, height)  # rows read [start, start + 256)
  ann = lambda cells: [{'label': 'NR', 'freq_lower_edge': -1e5, 'freq_upper_edge': 1e5, 'sample_start': 0,
                        'sample_count': n, 'occupancy': np.array(cells, float)}]
  between = [[starts[3] + 300, 100, -1e5, 1e5]]  # a burst after row 3's window, before row 4's
  inside = [[starts[5] + 255, 1, -1e5, 1e5]]  # the last sample row 5 reads
  for cells, rows_matlab in ((between, []), (inside, [5])):
    matlab = spectrogram.label_mask(ann(cells), fs, n, (height, 16), 'occupancy', spectrogram_mode='matlab')
    average = spectrogram.label_mask(ann(cells), fs, n, (height, 16), 'occupancy')
    assert np.flatnonzero(matlab.any(axis=1)).tolist() == rows_matlab
    assert average.any(axis=1).sum() == 1  # average mode: the row whose time span holds it
  band = spectrogram.label_mask(ann(between), fs, n, (height, 16), 'band', spectrogram_mode='matlab')
  assert band.any(axis=1).all()  # band labels keep covering their span
  with pytest.raises(ValueError, match='spectrogram_mode must be one of'):
    spectrogram.label_mask(ann(between), fs, n, (height, 16), spectrogram_mode='stft')


def test_floor_scaling_keeps_the_noise_grey_level_under_a_bright_spur():
  rng = np.random.default_rng(0)
  noise = (rng.standard_normal(131072) + 1j * rng.standard_normal(131072)).astype(np.complex64)
  spur = noise + 300 * np.exp(2j * np.pi * 0.01 * np.arange(131072)).astype(np.complex64)  # +50 dB tone
  grey = {}
  for name, iq in (('noise', noise), ('spur', spur)):
    psd = spectrogram.spectrogram_db(iq, 1e6, (64, 64), 'average')
    grey[name] = (spectrogram.grey_levels(psd, 'minmax'), spectrogram.grey_levels(psd, 'floor'))
  median = lambda g: float(np.median(g))
  # min-max: the spur pushes the noise far down; floor: the noise stays within a grey level or two of 64 + the
  # median's excess over the 10th percentile (about 1 dB of 40 -> ~5 levels)
  assert median(grey['spur'][0]) < median(grey['noise'][0]) - 60
  assert abs(median(grey['spur'][1]) - median(grey['noise'][1])) <= 2
  assert 64 <= median(grey['noise'][1]) <= 75
  psd = np.array([[0.0, 10.0, 40.0, 60.0, -30.0]])
  np.testing.assert_array_equal(spectrogram.floor_grey_levels(psd, percentile=0, floor_grey=64, span_db=40),
                                [[np.round(64 + 30 * 191 / 40), 255, 255, 255, 64]])
  with pytest.raises(ValueError, match=r"scaling must be one of \['floor', 'minmax'\]"):
    spectrogram.grey_levels(psd, 'log')


def test_ignore_annotations_mark_no_label_over_everything():
  ann = lambda label, lo, hi: {'label': label, 'freq_lower_edge': lo, 'freq_upper_edge': hi, 'sample_start': 0,
                               'sample_count': 1000}
  # the Ignore region comes first in the list and still wins over the LTE band it overlaps
  mask = spectrogram.label_mask([ann('Ignore', 0.0, 2e5), ann('LTE', -3e5, 3e5)], 1e6, 1000, (4, 10))
  assert mask[0].tolist() == [0, 0, 2, 2, 2, 255, 255, 255, 2, 0]  # columns floor((fs/2 + f) / (fs/W))
  assert np.unique(mask[:, 5:8]).tolist() == [255]
  with pytest.raises(ValueError, match=r"annotation 1 lacks key\(s\) \['sample_count'\]"):
    spectrogram.label_mask([ann('Ignore', 0, 1), {k: v for k, v in ann('NR', 0, 1).items() if k != 'sample_count'}],
                           1e6, 1000, (4, 10))


@pytest.mark.parametrize('mask_mode', ['band', 'occupancy'])
def test_packets_and_pulses_mark_the_rows_whose_read_window_they_meet(mask_mode):
  # A WLAN packet or radar pulse comes and goes within a frame: in matlab mode it labels only the rows whose
  # 256-sample read window it overlaps, in either mask mode, over the carrier band it lies on (annotated later).
  fs, n, height = 1e6, 40_000, 8
  starts = spectrogram.matlab_segment_starts(n, height)
  carrier = {'label': 'NR', 'freq_lower_edge': -4e5, 'freq_upper_edge': 4e5, 'sample_start': 0, 'sample_count': n}
  pulse = {'label': 'Radar', 'freq_lower_edge': -1e5, 'freq_upper_edge': 1e5, 'sample_start': int(starts[2]) + 100,
           'sample_count': 20}
  packet = {'label': 'WLAN', 'freq_lower_edge': 2e5, 'freq_upper_edge': 3e5, 'sample_start': int(starts[4]) + 300,
            'sample_count': int(starts[6] - starts[4])}  # from after row 4's window into row 6's
  matlab = spectrogram.label_mask([carrier, pulse, packet], fs, n, (height, 16), mask_mode, spectrogram_mode='matlab')
  radar_rows = np.flatnonzero((matlab == constants.CLASS_IDS['Radar']).any(axis=1)).tolist()
  wlan_rows = np.flatnonzero((matlab == constants.CLASS_IDS['WLAN']).any(axis=1)).tolist()
  assert radar_rows == [2] and wlan_rows == [5, 6]
  assert (matlab[[0, 1, 3, 4, 7]] <= constants.CLASS_IDS['NR']).all()  # the carrier's label elsewhere
  average = spectrogram.label_mask([carrier, pulse, packet], fs, n, (height, 16), mask_mode)
  assert np.flatnonzero((average == constants.CLASS_IDS['WLAN']).any(axis=1)).tolist() == [4, 5, 6]


def test_visible_labels_mark_the_reads_where_a_burst_stands_over_the_noise():
  # With its power over the noise density (CN0_KEY) a burst labels a read when (share of the Hann window's energy
  # it falls in) x (its power over the noise in its band) >= 1, and a chirp only over its occupancy cells.
  fs, n, height = 1e6, 40_000, 8
  starts = spectrogram.matlab_segment_starts(n, height)
  band = 2e5  # over the noise in its band: C/N0 / 2e5
  window = np.hanning(256) ** 2  # MATLAB's hann(256): symmetric, zero at both ends
  half = window[:128].sum() / window.sum()  # the first half of a read: 0.5 by symmetry
  assert half == pytest.approx(0.5)

  def pulse(row, offset, count, over_noise, **extra):
    return {'label': 'Radar', 'freq_lower_edge': -1e5, 'freq_upper_edge': 1e5,
            'sample_start': int(starts[row]) + offset, 'sample_count': count,
            constants.CN0_KEY: 10 * np.log10(over_noise * band), **extra}

  anns = [pulse(0, 0, 256, 1.2),   # the whole read at 1.2: shown
          pulse(1, 0, 256, 0.8),   # the whole read at 0.8: not
          pulse(2, 0, 128, 1.8),   # half the window at 1.8: 0.9, not
          pulse(3, 128, 128, 2.2),  # the other half at 2.2: 1.1, shown
          pulse(4, 250, 6, 1e9)]   # the window's last 6 samples (share ~1e-7) of a very strong pulse: shown
  mask = spectrogram.label_mask(anns, fs, n, (height, 16), spectrogram_mode='matlab')
  radar = constants.CLASS_IDS['Radar']
  assert np.flatnonzero((mask == radar).any(axis=1)).tolist() == [0, 3, 4]
  tail = window[250:].sum() / window.sum()
  faint = pulse(4, 250, 6, 0.9 / tail)
  assert not (spectrogram.label_mask([faint], fs, n, (height, 16), spectrogram_mode='matlab') == radar).any()
  # a chirp over two cells: a quarter read each, 1e5 apart in frequency, each band's columns in its own reads
  cells = np.array([[starts[5], 64, -1e5, 0.0], [starts[6] + 64, 64, 0.0, 1e5]])
  chirp = pulse(5, 0, int(starts[6] + 128 - starts[5]), 40.0, occupancy=cells)
  for mode in ('band', 'occupancy'):
    mask = spectrogram.label_mask([chirp], fs, n, (height, 16), mode, spectrogram_mode='matlab')
    assert np.flatnonzero(mask[5] == radar).tolist() == [6, 7, 8]  # -1e5..0 Hz: floor((fs/2 + f) / (fs/W))
    assert np.flatnonzero(mask[6] == radar).tolist() == [8, 9]
    assert not (mask[[0, 1, 2, 3, 4, 7]] == radar).any()
  # without CN0_KEY the earlier rule: every read it meets, over its whole band
  plain = {k: v for k, v in pulse(1, 0, 256, 0.8).items() if k != constants.CN0_KEY}
  assert (spectrogram.label_mask([plain], fs, n, (height, 16), spectrogram_mode='matlab')[1] == radar).sum() == 4


def test_spread_labels_follow_a_pulse_spectrum_over_the_noise():
  # A pulse with SPREAD_KEY marks, in each read that shows it, centre +- the last offset whose level x (window share)
  # x C/N0 >= 1: here whole reads (share 1), levels -60/-70/-80/-100 dB re 1/Hz at offsets 0, 40, 150, 400 kHz.
  fs, n, height, width = 1e6, 40_000, 8, 20  # columns 50 kHz wide, column k from -5e5 + 5e4 k
  starts = spectrogram.matlab_segment_starts(n, height)
  spread = {'centre_hz': 1e5, 'offset_hz': [0.0, 4e4, 1.5e5, 4e5], 'level_db': [-60.0, -70.0, -80.0, -100.0]}
  radar, lte = constants.CLASS_IDS['Radar'], constants.CLASS_IDS['LTE']

  def pulse(row, cn0_dbhz):
    return {'label': 'Radar', 'freq_lower_edge': 5e4, 'freq_upper_edge': 1.5e5, 'sample_start': int(starts[row]),
            'sample_count': 256, constants.CN0_KEY: cn0_dbhz, constants.SPREAD_KEY: spread}

  def cols(mask, row):
    return np.flatnonzero(mask[row] == radar).tolist()

  anns = [pulse(0, 85.0),  # 25/15/5/-15 dB over: out to 150 kHz, -5e4..2.5e5 Hz
          pulse(2, 65.0),  # 5/-5 dB: its centre only, 1e5 Hz
          pulse(4, 55.0),  # -5 dB at its peak: nowhere
          pulse(6, 105.0)]  # 45/35/25/5 dB: out to 400 kHz, -3e5..5e5 Hz (the frame's edge)
  for mode in ('band', 'occupancy'):
    mask = spectrogram.label_mask(anns, fs, n, (height, width), mode, spectrogram_mode='matlab')
    assert cols(mask, 0) == list(range(9, 16))  # floor((5e5 + f) / 5e4) for f in [-5e4, 2.5e5]
    assert cols(mask, 2) == [12]
    assert cols(mask, 6) == list(range(4, 20))
    assert not (mask[[1, 3, 4, 5, 7]] == radar).any()
  # beyond its main lobe (columns 11-13) it does not take a carrier's pixels; over it, it does
  carrier = {'label': 'LTE', 'freq_lower_edge': -5e5, 'freq_upper_edge': 7.5e4, 'sample_start': 0, 'sample_count': n}
  mask = spectrogram.label_mask([carrier, pulse(0, 85.0)], fs, n, (height, width), spectrogram_mode='matlab')
  assert cols(mask, 0) == [11, 12, 13, 14, 15] and (mask[0, :11] == lte).all()
  # the window's second half (share 1/2 by symmetry, -3 dB): at 82.5 dB-Hz 19.5/9.5/-0.5 dB, out to 40 kHz only
  half = {**pulse(0, 82.5), 'sample_start': int(starts[0]) + 128, 'sample_count': 128}
  assert cols(spectrogram.label_mask([half], fs, n, (height, width), spectrogram_mode='matlab'), 0) == [11, 12]
  # a level that rises again beyond one the excess misses does not reach out past the gap
  gap = {**spread, 'level_db': [-60.0, -90.0, -70.0, -100.0]}
  assert cols(spectrogram.label_mask([{**pulse(0, 85.0), constants.SPREAD_KEY: gap}], fs, n, (height, width),
                                     spectrogram_mode='matlab'), 0) == [12]
  # a spread of None: the band rule of test_visible_labels_mark_the_reads_where_a_burst_stands_over_the_noise
  assert spectrogram.label_mask([{**pulse(0, 85.0), constants.SPREAD_KEY: None}], fs, n, (height, width),
                                spectrogram_mode='matlab')[0].tolist().count(radar) == 3  # columns 11-13
