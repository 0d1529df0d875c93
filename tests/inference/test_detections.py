"""Detections from hand-made masks: column runs of a standard in one frame (exact edges in Hz and times in s),
continued across frames by the frequency-IoU >= 0.5 rule, and what is left out (invalid columns and rows,
columns below MIN_ROW_SHARE)."""

import numpy as np
import pytest

from specsense_jax import frames
from specsense_jax.inference import detections

NR, LTE = 1, 2
CENTER, SPAN = 1e9, 20e6


def _frame(start_s=0.5, duration_s=0.01, height=10, width=20, span_hz=SPAN, valid_rows=None, valid_columns=None):
  """A hand-made frame: CENTER ± span_hz/2 over `width` columns (1 MHz each by default), rows of
  duration_s / height seconds."""
  return frames.Frame(
      index=0, image=np.zeros((height, width, 3), np.uint8), start_s=start_s, duration_s=duration_s,
      center_frequency=CENTER, span_hz=span_hz,
      valid_columns=np.ones(width, bool) if valid_columns is None else valid_columns,
      valid_rows=np.ones(height, bool) if valid_rows is None else valid_rows)


def _probabilities(mask, value=0.9):
  """(H, W, 3) scores: `value` for the class of each pixel's mask."""
  p = np.zeros(mask.shape + (3,))
  for class_id in range(3):
    p[..., class_id] = np.where(mask == class_id, value, 0.0)
  return p


def test_adjacent_carriers_of_two_standards_are_two_detections_with_exact_edges():
  mask = np.zeros((10, 20), np.uint8)
  mask[2:8, 4:9] = NR    # columns 4..8, rows 2..7
  mask[:, 9:15] = LTE    # columns 9..14, touching NR's last column, every row
  p = _probabilities(mask)
  p[2:5, 4:9, NR] = 0.9  # NR: 15 pixels at 0.9 and 15 at 0.6 -> confidence 0.75
  p[5:8, 4:9, NR] = 0.6
  found = detections.frame_carriers(mask, p, _frame())
  by_standard = {d.standard: d for d in found}
  assert sorted(by_standard) == ['LTE', 'NR'] and len(found) == 2
  nr, lte = by_standard['NR'], by_standard['LTE']
  # Column c covers [990 MHz + c MHz, 991 MHz + c MHz): NR [994, 999) MHz, LTE [999, 1005) MHz.
  assert (nr.freq_lo, nr.freq_hi, lte.freq_lo, lte.freq_hi) == (994e6, 999e6, 999e6, 1005e6)
  # Rows are 1 ms: NR's rows 2..7 are 0.502..0.508 s, LTE spans the frame.
  assert (nr.start_s, nr.end_s) == (pytest.approx(0.502), pytest.approx(0.508))
  assert (lte.start_s, lte.end_s) == (pytest.approx(0.5), pytest.approx(0.51))
  assert (nr.pixels, lte.pixels) == (30, 60)
  assert nr.as_dict() == {'standard': 'NR', 'center_frequency_mhz': 996.5, 'bandwidth_mhz': 5.0,
                          'start_s': 0.502, 'end_s': 0.508, 'confidence': 0.75}
  assert lte.as_dict()['confidence'] == 0.9 and lte.as_dict()['center_frequency_mhz'] == 1002.0


def test_carrier_continued_into_the_next_frame_is_one_detection():
  first, second = _frame(start_s=0.0, duration_s=0.04), _frame(start_s=0.04, duration_s=0.04)
  mask_a = np.zeros((10, 20), np.uint8)
  mask_a[4:, 6:11] = NR   # rows 4..9 of the first frame (to its end): 30 pixels at 0.9
  mask_b = np.zeros((10, 20), np.uint8)
  mask_b[:9, 6:11] = NR   # rows 0..8 of the second: 45 pixels at 0.4
  tracker = detections.DetectionTracker()
  tracker.add(detections.frame_carriers(mask_a, _probabilities(mask_a, 0.9), first), first.start_s)
  tracker.add(detections.frame_carriers(mask_b, _probabilities(mask_b, 0.4), second), second.start_s)
  [merged] = tracker.result()
  # Start of the first part (row 4 of 4 ms rows), end of the second (0.04 + 9 rows); confidence weighted by
  # pixels: (30 * 0.9 + 45 * 0.4) / 75 = 0.6 (not the mean of the two frames' 0.9 and 0.4).
  assert merged == {'standard': 'NR', 'center_frequency_mhz': 998.5, 'bandwidth_mhz': 5.0, 'start_s': 0.016,
                    'end_s': 0.076, 'confidence': 0.6}


def test_carrier_that_ended_before_the_next_frame_is_not_continued():
  first, second = _frame(start_s=0.0, duration_s=0.04), _frame(start_s=0.04, duration_s=0.04)
  mask_a = np.zeros((10, 20), np.uint8)
  mask_a[:8, 6:11] = NR   # ends 8 ms before the second frame starts
  mask_b = np.zeros((10, 20), np.uint8)
  mask_b[:, 6:11] = NR
  tracker = detections.DetectionTracker()
  tracker.add(detections.frame_carriers(mask_a, _probabilities(mask_a), first), first.start_s)
  tracker.add(detections.frame_carriers(mask_b, _probabilities(mask_b), second), second.start_s)
  assert [(d['start_s'], d['end_s']) for d in tracker.result()] == [(0.0, 0.032), (0.04, 0.08)]


def test_same_band_of_another_standard_is_not_continued():
  first, second = _frame(start_s=0.0, duration_s=0.04), _frame(start_s=0.04, duration_s=0.04)
  mask_a = np.zeros((10, 20), np.uint8)
  mask_a[:, 6:11] = NR
  mask_b = np.zeros((10, 20), np.uint8)
  mask_b[:, 6:11] = LTE
  tracker = detections.DetectionTracker()
  tracker.add(detections.frame_carriers(mask_a, _probabilities(mask_a), first), first.start_s)
  tracker.add(detections.frame_carriers(mask_b, _probabilities(mask_b), second), second.start_s)
  assert [(d['standard'], d['start_s'], d['end_s']) for d in tracker.result()] == [
      ('NR', 0.0, 0.04), ('LTE', 0.04, 0.08)]


@pytest.mark.parametrize('second_columns,continued', [
    ((10, 40), True),    # IoU 20/40, exactly 0.5: continues, and the band grows to the union [0, 40)
    ((10, 41), False),   # IoU 20/41, just below 0.5: a new detection
    ((0, 30), True),     # IoU 1
    ((0, 20), True),     # IoU 20/30: the merged band keeps the first frame's upper edge
])
def test_band_continues_at_frequency_iou_of_one_half(second_columns, continued):
  # 100 columns of 1 MHz from 950 MHz; the first frame's carrier covers columns [0, 30).
  first = _frame(start_s=0.0, duration_s=0.04, width=100, span_hz=100e6)
  second = _frame(start_s=0.04, duration_s=0.04, width=100, span_hz=100e6)
  mask_a = np.zeros((10, 100), np.uint8)
  mask_a[:, 0:30] = LTE
  mask_b = np.zeros((10, 100), np.uint8)
  mask_b[:, slice(*second_columns)] = LTE
  carriers_b = detections.frame_carriers(mask_b, _probabilities(mask_b), second)
  carriers_a = detections.frame_carriers(mask_a, _probabilities(mask_a), first)
  tracker = detections.DetectionTracker()
  tracker.add(carriers_a, first.start_s)
  tracker.add(carriers_b, second.start_s)
  found = [(d['center_frequency_mhz'], d['bandwidth_mhz'], d['start_s'], d['end_s']) for d in tracker.result()]
  lo, hi = second_columns
  if continued:
    assert found == [((950 + 950 + max(hi, 30)) / 2, max(hi, 30), 0.0, 0.08)]
  else:
    assert found == [(965.0, 30.0, 0.0, 0.04), (950 + (lo + hi) / 2, hi - lo, 0.04, 0.08)]


def test_invalid_columns_and_rows_are_ignored():
  valid_columns = np.ones(20, bool)
  valid_columns[7:] = False              # the recording's band ends at column 7 (997 MHz)
  valid_rows = np.ones(20, bool)
  valid_rows[10:] = False                # and its time after row 10 (the frame's first half)
  frame = _frame(height=20, valid_rows=valid_rows, valid_columns=valid_columns)
  mask = np.zeros((20, 20), np.uint8)
  mask[3:6, 4:9] = NR                    # a carrier running past the band edge
  mask[10:, 1:3] = NR                    # class ids in rows without data (columns 1, 2): never a carrier
  mask[:, 12:16] = LTE                   # entirely outside the band
  [nr] = detections.frame_carriers(mask, _probabilities(mask), frame)
  assert (nr.standard, nr.freq_lo, nr.freq_hi) == ('NR', 994e6, 997e6)
  assert (nr.start_s, nr.end_s, nr.pixels) == (pytest.approx(0.5015), pytest.approx(0.503), 9)


def test_min_row_share_counts_valid_rows_only():
  rows_needed = round(detections.MIN_ROW_SHARE * 100)  # 5 of 100 rows at the documented 0.05
  assert rows_needed == 5
  mask = np.zeros((100, 20), np.uint8)
  mask[:rows_needed, 2] = NR             # column 2: exactly the share -> a carrier
  mask[:rows_needed - 1, 5] = NR         # column 5: one row short -> none
  [found] = detections.frame_carriers(mask, _probabilities(mask), _frame(height=100))
  assert (found.freq_lo, found.freq_hi) == (992e6, 993e6)
  # With half the rows invalid, the share is over the 50 valid rows: 3 rows (6 %) are enough, 2 (4 %) are not.
  valid_rows = np.arange(100) < 50
  mask = np.zeros((100, 20), np.uint8)
  mask[:3, 2] = NR
  mask[:2, 5] = NR
  mask[50:, 5] = NR                      # rows without data add nothing
  [found] = detections.frame_carriers(mask, _probabilities(mask), _frame(height=100, valid_rows=valid_rows))
  assert (found.freq_lo, found.freq_hi) == (992e6, 993e6)


def test_detections_are_named_by_the_model_classes():
  # A four-class model's Unknown run is a detection named Unknown; a three-class model has no class 3.
  mask = np.zeros((10, 20), np.uint8)
  mask[:, 2:4] = NR
  mask[:, 12:15] = 3
  p = np.zeros(mask.shape + (4,))
  for class_id in range(4):
    p[..., class_id] = np.where(mask == class_id, 0.8, 0.0)
  found = detections.frame_carriers(mask, p, _frame(), ('Noise', 'NR', 'LTE', 'Unknown'))
  assert [(d.standard, d.freq_lo, d.freq_hi) for d in found] == [('NR', 992e6, 994e6), ('Unknown', 1002e6, 1005e6)]
  assert [d.standard for d in detections.frame_carriers(mask, p[..., :3], _frame())] == ['NR']


def test_packets_and_pulses_are_one_detection_per_burst_of_rows():
  # WLAN in two bursts (rows 1-2 and rows 6-7, a row apart counts as one), radar in a single row: each burst a
  # detection with its own times, whatever share of the rows it covers.
  six = ('Noise', 'NR', 'LTE', 'Unknown', 'WLAN', 'Radar')
  mask = np.zeros((10, 20), np.uint8)
  mask[:, 0:4] = NR
  mask[1:3, 5:9] = 4
  mask[6, 5:9] = 4
  mask[8, 5:9] = 4  # one row from the burst at 6: the same burst
  mask[4, 12:14] = 5
  p = np.zeros(mask.shape + (6,))
  for class_id in range(6):
    p[..., class_id] = np.where(mask == class_id, 0.8, 0.0)
  found = detections.frame_carriers(mask, p, _frame(), six)
  wlan = sorted((d for d in found if d.standard == 'WLAN'), key=lambda d: d.start_s)
  [radar] = [d for d in found if d.standard == 'Radar']
  assert [(d.start_s, d.end_s) for d in wlan] == [(pytest.approx(0.501), pytest.approx(0.503)),
                                                  (pytest.approx(0.506), pytest.approx(0.509))]
  assert [d.pixels for d in wlan] == [8, 8] and (wlan[0].freq_lo, wlan[0].freq_hi) == (995e6, 999e6)
  assert (radar.start_s, radar.end_s, radar.pixels) == (pytest.approx(0.504), pytest.approx(0.505), 2)
  assert radar.as_dict()['confidence'] == 0.8 and [d.standard for d in found].count('NR') == 1
