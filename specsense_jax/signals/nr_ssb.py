"""NR SS/PBCH burst configuration: periodicity (TS 38.331 ssb-periodicityServingCell), transmitted blocks
(ssb-PositionsInBurst) and the number of candidate blocks per half frame L_max (TS 38.213 §4.1), FR1 without
shared spectrum channel access.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

# TS 38.331 ServingCellConfigCommon: ssb-periodicityServingCell ENUMERATED {ms5, ms10, ms20, ms40, ms80, ms160}.
SSB_PERIODS_MS = (5, 10, 20, 40, 80, 160)
# TS 38.331 ssb-PositionsInBurst: shortBitmap (L_max = 4) or mediumBitmap (L_max = 8) in FR1.
L_MAX_VALUES = (4, 8)
# TS 38.213 §4.1: the carrier frequency up to which a half frame has 4 candidate blocks (else 8), per case and
# spectrum: (limit in Hz, whether the limit itself still has 4). Case C unpaired: 'smaller than 1.88 GHz'.
_L4_LIMIT = {
    ('A', True): (3e9, True), ('A', False): (3e9, True), ('B', True): (3e9, True), ('B', False): (3e9, True),
    ('C', True): (3e9, True), ('C', False): (1.88e9, False),
}


@dataclasses.dataclass(frozen=True)
class SsbBurst:
  """A validated SS/PBCH burst configuration.

  Attributes:
    period_ms: ssb-periodicityServingCell.
    transmitted: per candidate block index 0..L_max-1, whether it is sent (ssb-PositionsInBurst; the leftmost bit
      is block index 0).
  """
  period_ms: int
  transmitted: tuple[bool, ...]

  @property
  def l_max(self) -> int:
    return len(self.transmitted)

  @property
  def indices(self) -> tuple[int, ...]:
    """Indexes of the transmitted blocks."""
    return tuple(i for i, sent in enumerate(self.transmitted) if sent)


def l_max(ssb_case: str, carrier_hz: float, paired: bool) -> int:
  """Candidate SS/PBCH blocks per half frame, L_max, in FR1 (TS 38.213 §4.1).

  Args:
    ssb_case: 'A' (15 kHz), 'B' or 'C' (30 kHz).
    carrier_hz: carrier frequency.
    paired: paired spectrum (FDD) rather than unpaired (TDD).
  """
  if (ssb_case, bool(paired)) not in _L4_LIMIT:
    raise ValueError(f"ssb_case must be 'A', 'B' or 'C', got {ssb_case!r}")
  limit, inclusive = _L4_LIMIT[ssb_case, bool(paired)]
  return 4 if carrier_hz < limit or (inclusive and carrier_hz == limit) else 8


def check_period(ssb_period_ms) -> None:
  """ValueError naming ssb_period_ms unless it is one of SSB_PERIODS_MS."""
  if isinstance(ssb_period_ms, bool) or ssb_period_ms not in SSB_PERIODS_MS:
    raise ValueError(f'ssb_period_ms must be one of {SSB_PERIODS_MS} (TS 38.331 ssb-periodicityServingCell), '
                     f'got {ssb_period_ms!r}')


def ssb_burst(ssb_period_ms: int = 20, ssb_bitmap: str | Sequence[int] = 'single', l_max: int | None = None
              ) -> SsbBurst:
  """Validates an SS/PBCH burst configuration.

  Args:
    ssb_period_ms: one of SSB_PERIODS_MS.
    ssb_bitmap: 'single' (block 0 only), a string of L_max '0'/'1' characters (leftmost = block 0), or a
      sequence of L_max bools / 0-1 ints; at least one block sent.
    l_max: 4 or 8; required for 'single', otherwise checked against the bitmap length when given.

  Returns:
    An `SsbBurst`.
  """
  check_period(ssb_period_ms)
  if l_max is not None and (isinstance(l_max, bool) or l_max not in L_MAX_VALUES):
    raise ValueError(f'l_max must be one of {L_MAX_VALUES} in FR1, got {l_max!r}')
  if isinstance(ssb_bitmap, str) and ssb_bitmap == 'single':
    if l_max is None:
      raise ValueError("ssb_bitmap='single' needs l_max (4 or 8, see nr_ssb.l_max)")
    bits = (True,) + (False,) * (l_max - 1)
  else:
    values = list(ssb_bitmap) if isinstance(ssb_bitmap, (str, list, tuple)) else None
    allowed = ({'0', '1'} if isinstance(ssb_bitmap, str) else {0, 1})
    if values is None or any(isinstance(v, float) or v not in allowed for v in values):
      raise ValueError("ssb_bitmap must be 'single', a string of '0'/'1' or a sequence of 0/1 (bools), got "
                       f'{ssb_bitmap!r}')
    bits = tuple(v in ('1', 1) for v in values)
    if len(bits) not in L_MAX_VALUES or (l_max is not None and len(bits) != l_max):
      want = l_max or ' or '.join(map(str, L_MAX_VALUES))
      raise ValueError(f'ssb_bitmap must have {want} bits (shortBitmap / mediumBitmap), got {len(bits)}: '
                       f'{ssb_bitmap!r}')
  if not any(bits):
    raise ValueError(f'ssb_bitmap must send at least one block, got {ssb_bitmap!r}')
  return SsbBurst(int(ssb_period_ms), bits)
