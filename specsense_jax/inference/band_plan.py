"""Where WLAN and radar may be: a band-plan prior for predictions on recordings whose centre frequency is known.

NR and LTE have bands almost everywhere from 410 MHz to 52.6 GHz (TS 38.101-1/-2 Table 5.2-1, TS 36.101
Table 5.5-1), Unknown is anything, so only the classes with narrow allocations get a prior: a column of a frame
(a frequency bin) may be called WLAN or Radar only where some band of that class overlaps it. The prior is the
union over regions (FCC, CEPT/ETSI, ITU Radio Regulations), so it removes nothing a recording could hold, and a
frequency-agnostic network keeps its own scores everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# RF bands (Hz) outside which a class cannot be on the air.
ALLOCATIONS_HZ: dict[str, tuple[tuple[float, float], ...]] = {
    'WLAN': (
        (2400e6, 2483.5e6),   # 2.4 GHz ISM: IEEE 802.11-2020 Annex E, 47 CFR 15.247, ETSI EN 300 328
        (3650e6, 3700e6),     # 802.11y, 47 CFR 90 Subpart Z
        (4900e6, 5091e6),     # 4.9 GHz: public safety (47 CFR 90 Subpart Y), Japan (802.11j)
        (5150e6, 5895e6),     # U-NII-1..4: 47 CFR 15.407; ETSI EN 301 893 (5150-5350, 5470-5725 MHz)
        (5925e6, 7125e6),     # U-NII-5..8: 47 CFR 15.407 (2020); ETSI EN 303 687 (5945-6425 MHz)
    ),
    'Radar': (  # ITU RR Article 5 radiolocation, radionavigation and meteorological-aids bands of primary radars
        (1215e6, 1400e6),     # L-band long-range ATC (ITU-R M.1463)
        (2700e6, 3100e6),     # S-band ATC and weather (ITU-R M.1464), maritime (2900-3100 MHz)
        (3100e6, 3700e6),     # radiolocation (ITU-R M.1465), incl. the shipborne radars of the US CBRS band
        (5250e6, 5850e6),     # C-band radiolocation and weather (ITU-R M.1638, M.1849)
        (8500e6, 10500e6),    # X-band radiolocation, marine and weather (ITU-R M.1796)
    ),
}


def has_frequency(center_frequency: float | None) -> bool:
  """Whether a recording's centre frequency is known (SigMF writes 0 where it is not)."""
  return center_frequency is not None and bool(np.isfinite(center_frequency)) and center_frequency > 0


def check_frequency(center_frequency: float | None) -> None:
  """Raises a ValueError naming where the centre frequency comes from when it is unknown."""
  if not has_frequency(center_frequency):
    raise ValueError(f'the band plan needs the recording\'s RF centre frequency (SigMF core:frequency or '
                     f'--center_freq), got {center_frequency!r}')


def allowed_classes(class_names: Sequence[str], center_frequency: float | None, span_hz: float,
                    width: int) -> np.ndarray:
  """Which classes each column of a frame may hold: bool (width, classes).

  Args:
    class_names: the model's classes, in its order.
    center_frequency: the frame's RF centre (Hz); the columns span `center_frequency ± span_hz / 2`.
    span_hz: the frame's span (its sample rate).
    width: the number of columns.

  Raises:
    ValueError: without a centre frequency (PNG inputs, raw files without `--center_freq`).
  """
  check_frequency(center_frequency)
  edges = center_frequency - span_hz / 2 + span_hz / width * np.arange(width + 1)
  allowed = np.ones((width, len(class_names)), bool)
  for index, name in enumerate(class_names):
    bands = ALLOCATIONS_HZ.get(name)
    if bands is not None:  # a column is allowed where any band overlaps it
      allowed[:, index] = np.any([(edges[1:] > low) & (edges[:-1] < high) for low, high in bands], axis=0)
  return allowed


def restrict(probabilities: np.ndarray, allowed: np.ndarray) -> np.ndarray:
  """Class probabilities (..., width, classes) with the disallowed classes' removed and the rest renormalised
  (Bayes' rule with a prior that is zero outside the allocations and flat inside)."""
  kept = probabilities * allowed
  total = kept.sum(-1, keepdims=True)
  return kept / np.where(total > 0, total, 1)

