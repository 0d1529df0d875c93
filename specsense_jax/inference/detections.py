"""Carriers from predicted masks: per-frame column runs of a standard, continued across frames."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from specsense_jax import constants
from specsense_jax import frames

MIN_ROW_SHARE = 0.05  # a column belongs to a carrier when the class covers this share of its valid rows


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
  of the rows. `class_names` are the model's classes (mask ids); a detection's `standard` is the class name."""
  height, width = mask.shape
  rows = frame.valid_rows
  column_hz = frame.span_hz / width
  low_edge = frame.center_frequency - frame.span_hz / 2
  found = []
  for class_id, name in enumerate(class_names):
    if name == 'Noise':
      continue
    hit = (mask == class_id) & rows[:, None]
    share = hit.sum(0) / max(rows.sum(), 1)
    columns = (share >= MIN_ROW_SHARE) & frame.valid_columns
    edges = np.flatnonzero(np.diff(np.concatenate([[0], columns.astype(np.int8), [0]])))
    for c0, c1 in zip(edges[::2], edges[1::2]):  # [c0, c1)
      block = hit[:, c0:c1]
      occupied_rows = np.flatnonzero(block.any(1))
      found.append(Detection(name, low_edge + c0 * column_hz, low_edge + c1 * column_hz,
                             frame.start_s + occupied_rows[0] * frame.duration_s / height,
                             frame.start_s + (occupied_rows[-1] + 1) * frame.duration_s / height,
                             float(probabilities[:, c0:c1, class_id][block].sum()), int(block.sum())))
  return found


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
