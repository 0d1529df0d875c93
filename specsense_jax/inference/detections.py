"""Carriers from predicted masks: per-frame column runs of a standard, continued across frames; packets and pulses
(WLAN, Radar) as the blocks of rows they occupy."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from specsense_jax import constants
from specsense_jax import frames

MIN_ROW_SHARE = 0.05  # a column belongs to a carrier when the class covers this share of its valid rows
MAX_ROW_GAP = 1  # rows of a bursty class further apart than this are separate bursts


@dataclasses.dataclass
class Detection:
  standard: str
  freq_lo: float   # absolute Hz
  freq_hi: float
  start_s: float
  end_s: float
  confidence_sum: float
  pixels: int

  def as_dict(self) -> dict[str, Any]:
    return {'standard': self.standard, 'center_frequency_mhz': round(float(self.freq_lo + self.freq_hi) / 2e6, 4),
            'bandwidth_mhz': round(float(self.freq_hi - self.freq_lo) / 1e6, 4),
            'start_s': round(float(self.start_s), 6), 'end_s': round(float(self.end_s), 6),
            'confidence': round(self.confidence_sum / max(self.pixels, 1), 4)}


def frame_carriers(mask: np.ndarray, probabilities: np.ndarray, frame: frames.Frame,
                   class_names: Sequence[str] = constants.MATHWORKS_CLASSES) -> list[Detection]:
  """The carriers of one frame's mask: runs of columns where a class other than Noise covers >= MIN_ROW_SHARE
  of the rows; for a class of `constants.BURSTY_LABELS` (on only in some rows), each run of its columns split
  into runs of rows (bursts). `class_names` are the model's classes (mask ids); a detection's `standard` is the
  class name."""
  height, width = mask.shape
  rows = frame.valid_rows
  column_hz = frame.span_hz / width
  low_edge = frame.center_frequency - frame.span_hz / 2
  found = []
  for class_id, name in enumerate(class_names):
    if name == 'Noise':
      continue
    hit = (mask == class_id) & rows[:, None]
    bursty = name in constants.BURSTY_LABELS
    share = hit.sum(0) / max(rows.sum(), 1)
    columns = (share > 0 if bursty else share >= MIN_ROW_SHARE) & frame.valid_columns
    for c0, c1 in _runs(columns):  # [c0, c1)
      occupied_rows = np.flatnonzero(hit[:, c0:c1].any(1))
      spans = ([(occupied_rows[0], occupied_rows[-1] + 1)] if not bursty else
               _runs(np.isin(np.arange(height), occupied_rows), MAX_ROW_GAP))
      for r0, r1 in spans:
        block = np.zeros_like(hit[:, c0:c1])
        block[r0:r1] = hit[r0:r1, c0:c1]
        found.append(Detection(name, low_edge + c0 * column_hz, low_edge + c1 * column_hz,
                               frame.start_s + r0 * frame.duration_s / height,
                               frame.start_s + r1 * frame.duration_s / height,
                               float(probabilities[:, c0:c1, class_id][block].sum()), int(block.sum())))
  return found


def _runs(flags: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
  """[start, stop) runs of True in `flags`, runs at most `gap` apart merged."""
  edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(flags, np.int8), [0]])))
  out = []
  for start, stop in zip(edges[::2], edges[1::2]):
    if out and start - out[-1][1] <= gap:
      out[-1] = (out[-1][0], int(stop))
    else:
      out.append((int(start), int(stop)))
  return out


def _frequency_iou(a: Detection, b: Detection) -> float:
  overlap = min(a.freq_hi, b.freq_hi) - max(a.freq_lo, b.freq_lo)
  return max(overlap, 0.0) / (max(a.freq_hi, b.freq_hi) - min(a.freq_lo, b.freq_lo))


class DetectionTracker:
  """Continues an open detection (same standard, ending where the frame starts) with the frame's carrier
  whose band matches it (intersection over union >= 0.5); other carriers start new detections."""

  def __init__(self):
    self.open: list[Detection] = []
    self.closed: list[Detection] = []

  def add(self, carriers: list[Detection], frame_start_s: float) -> None:
    still_open = []
    for carrier in carriers:
      match = next((d for d in self.open if d.standard == carrier.standard and d.end_s >= frame_start_s - 1e-9
                    and _frequency_iou(d, carrier) >= 0.5), None)
      if match is None:
        still_open.append(carrier)
        continue
      self.open.remove(match)
      still_open.append(Detection(match.standard, min(match.freq_lo, carrier.freq_lo),
                                  max(match.freq_hi, carrier.freq_hi), match.start_s, carrier.end_s,
                                  match.confidence_sum + carrier.confidence_sum, match.pixels + carrier.pixels))
    self.closed.extend(self.open)
    self.open = still_open

  def result(self) -> list[dict[str, Any]]:
    everything = sorted(self.closed + self.open, key=lambda d: (d.start_s, d.freq_lo))
    return [d.as_dict() for d in everything]
