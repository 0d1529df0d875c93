"""NR TDD: the cell-specific slot format of `tdd-UL-DL-ConfigurationCommon` (TS 38.213 §11.1, TS 38.331) and
which OFDM symbols of each slot may carry downlink energy (normal cyclic prefix, 14 symbols a slot).

Symbols the configuration leaves flexible are not used for downlink here: they are the guard period of the
special slot, between the downlink and uplink symbols.
"""

from __future__ import annotations

import dataclasses
import fractions
import re

import numpy as np

DUPLEX_MODES = ('fdd', 'tdd')
SYMBOLS_PER_SLOT = 14
# TS 38.331 TDD-UL-DL-Pattern dl-UL-TransmissionPeriodicity (ms) and dl-UL-TransmissionPeriodicity-v1530 (3, 4).
PERIODICITIES_MS = (0.5, 0.625, 1, 1.25, 2, 2.5, 3, 4, 5, 10)
# Slot sequences of common deployments, one period each; a '+' separates pattern1 from pattern2. The period is
# the number of slots times the slot length (2.5 ms for 'DDDSU' at 30 kHz, 5 ms at 15 kHz).
PRESETS = {
    'DDDSU': 'DDDSU',
    'DDDDDDDSUU': 'DDDDDDDSUU',
    'DDDSUDDSUU': 'DDDSU+DDSUU',
    'DSUUU': 'DSUUU',
}
# Downlink:guard:uplink symbols of the special slot 'S' unless the name selects another split.
DEFAULT_SPECIAL_SLOT = (10, 2, 2)
_SPLIT_SUFFIX = re.compile(r'^(?P<name>[A-Z]+)_(?P<d>\d+)_(?P<g>\d+)_(?P<u>\d+)$')


@dataclasses.dataclass(frozen=True)
class TddPattern:
  """One TDD-UL-DL-Pattern (TS 38.331): downlink slots, then downlink symbols, flexible symbols, uplink symbols
  and uplink slots within a period.

  Attributes:
    periodicity_ms: dl-UL-TransmissionPeriodicity, one of PERIODICITIES_MS.
    nrof_downlink_slots: full downlink slots at the start of the period.
    nrof_downlink_symbols: downlink symbols at the start of the slot after them.
    nrof_uplink_slots: full uplink slots at the end of the period.
    nrof_uplink_symbols: uplink symbols at the end of the slot before them.
  """
  periodicity_ms: float
  nrof_downlink_slots: int
  nrof_downlink_symbols: int
  nrof_uplink_slots: int
  nrof_uplink_symbols: int


@dataclasses.dataclass(frozen=True)
class TddConfig:
  """tdd-UL-DL-ConfigurationCommon: pattern1 and an optional pattern2 that follows it (TS 38.213 §11.1)."""
  pattern1: TddPattern
  pattern2: TddPattern | None = None


def preset(name: str, scs_khz: int) -> TddConfig:
  """The `TddConfig` of a preset name, e.g. 'DDDSU' (special slot 10:2:2) or 'DDDSU_6_4_4' (6:4:4).

  Any preset takes an optional '_<downlink>_<guard>_<uplink>' suffix of special-slot symbols summing to 14.
  """
  allowed = f'{sorted(PRESETS)}, optionally with a special-slot suffix such as "DDDSU_6_4_4"'
  match = _SPLIT_SUFFIX.match(name) if isinstance(name, str) else None
  base = match['name'] if match else name
  if not isinstance(base, str) or base not in PRESETS:
    raise ValueError(f'tdd_pattern must be a TddConfig, a TddPattern or one of {allowed}, got {name!r}')
  split = tuple(int(match[k]) for k in 'dgu') if match else DEFAULT_SPECIAL_SLOT
  if sum(split) != SYMBOLS_PER_SLOT:
    raise ValueError(f'tdd_pattern {name!r}: special-slot downlink:guard:uplink symbols must sum to 14, '
                     f'got {split}')
  slot_ms = 1 / (scs_khz // 15)
  patterns = []
  for slots in PRESETS[base].split('+'):
    patterns.append(TddPattern(
        periodicity_ms=float(len(slots) * slot_ms), nrof_downlink_slots=slots.index('S'),
        nrof_downlink_symbols=split[0], nrof_uplink_slots=len(slots) - slots.index('S') - 1,
        nrof_uplink_symbols=split[2]))
  return TddConfig(*patterns)


def resolve(tdd_pattern: str | TddPattern | TddConfig, scs_khz: int) -> TddConfig:
  """A validated `TddConfig` from a preset name, a single `TddPattern` or a `TddConfig`."""
  if isinstance(tdd_pattern, TddPattern):
    tdd_pattern = TddConfig(tdd_pattern)
  config = tdd_pattern if isinstance(tdd_pattern, TddConfig) else preset(tdd_pattern, scs_khz)
  check(config, scs_khz)
  return config


def period_slots(scs_khz: int) -> dict[float, int]:
  """{periodicity ms: slots} of the PERIODICITIES_MS that hold a whole number of slots at `scs_khz` (TS 38.213
  §11.1: 0.625 ms only for mu = 3, 1.25 for mu >= 2, 2.5 for mu >= 1)."""
  slots = {p: fractions.Fraction(str(p)) * (scs_khz // 15) for p in PERIODICITIES_MS}
  return {p: int(n) for p, n in slots.items() if n.denominator == 1}


def _slots_in_period(pattern: TddPattern, scs_khz: int, which: str) -> int:
  """Slots of a pattern's period; ValueError unless the periodicity is allowed and holds whole slots."""
  p = pattern.periodicity_ms
  if isinstance(p, bool) or not any(p == v for v in PERIODICITIES_MS):
    raise ValueError(f'{which}.periodicity_ms must be one of {PERIODICITIES_MS} (TS 38.331), got {p!r}')
  whole = period_slots(scs_khz)
  if p not in whole:
    raise ValueError(f'{which}.periodicity_ms={p!r} does not hold a whole number of {scs_khz} kHz slots; '
                     f'allowed at {scs_khz} kHz: {list(whole)}')
  return whole[p]


def check(config: TddConfig, scs_khz: int) -> None:
  """Raises ValueError naming the field if `config` is not a valid tdd-UL-DL-ConfigurationCommon."""
  if not isinstance(config, TddConfig) or not isinstance(config.pattern1, TddPattern) or not (
      config.pattern2 is None or isinstance(config.pattern2, TddPattern)):
    raise ValueError(f'tdd_pattern must be a TddConfig of TddPatterns, got {config!r}')
  for which, pattern in (('pattern1', config.pattern1), ('pattern2', config.pattern2)):
    if pattern is None:
      continue
    slots = _slots_in_period(pattern, scs_khz, which)
    for field in ('nrof_downlink_slots', 'nrof_uplink_slots'):
      value = getattr(pattern, field)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= slots:
        raise ValueError(f'{which}.{field} must be an int in [0, {slots}], got {value!r}')
    for field in ('nrof_downlink_symbols', 'nrof_uplink_symbols'):  # INTEGER (0..maxNrofSymbols-1)
      value = getattr(pattern, field)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 13:
        raise ValueError(f'{which}.{field} must be an int in [0, 13], got {value!r}')
    used = SYMBOLS_PER_SLOT * (pattern.nrof_downlink_slots + pattern.nrof_uplink_slots) \
        + pattern.nrof_downlink_symbols + pattern.nrof_uplink_symbols
    if used > SYMBOLS_PER_SLOT * slots:
      raise ValueError(f'{which}: downlink and uplink slots and symbols ({used} symbols) exceed the '
                       f'{SYMBOLS_PER_SLOT * slots} symbols of its {pattern.periodicity_ms} ms period')
  if config.pattern2 is None:  # TS 38.213 §11.1: the pattern restarts with every even frame, 20 / P an integer
    if (20 / fractions.Fraction(str(config.pattern1.periodicity_ms))).denominator != 1:
      raise ValueError(f'pattern1.periodicity_ms={config.pattern1.periodicity_ms} must divide 20 ms without a '
                       'pattern2 (TS 38.213 §11.1; 3 ms only with a pattern2, as 3 + 2)')
  else:  # TS 38.213 §11.1: 20 / (P + P2) is an integer
    total = fractions.Fraction(str(config.pattern1.periodicity_ms)) \
        + fractions.Fraction(str(config.pattern2.periodicity_ms))
    if (20 / total).denominator != 1:
      raise ValueError(f'pattern1 and pattern2 periodicities ({config.pattern1.periodicity_ms} + '
                       f'{config.pattern2.periodicity_ms} ms) must divide 20 ms (TS 38.213 §11.1)')


def _pattern_symbols(pattern: TddPattern, scs_khz: int) -> np.ndarray:
  """(slots, 14) bool of one pattern period: its downlink symbols (flexible and uplink ones are False)."""
  slots = _slots_in_period(pattern, scs_khz, 'pattern')
  flat = np.zeros(slots * SYMBOLS_PER_SLOT, bool)
  flat[:SYMBOLS_PER_SLOT * pattern.nrof_downlink_slots + pattern.nrof_downlink_symbols] = True
  return flat.reshape(slots, SYMBOLS_PER_SLOT)


def downlink_symbols(config: TddConfig, scs_khz: int, num_slots: int | None = None) -> np.ndarray:
  """(num_slots, 14) bool: the symbols of each slot that may carry downlink energy.

  The pattern (pattern1 then pattern2) repeats from slot 0 of an even frame (TS 38.213 §11.1); the default
  `num_slots` is one 10 ms frame.
  """
  check(config, scs_khz)
  period = _pattern_symbols(config.pattern1, scs_khz)
  if config.pattern2 is not None:
    period = np.concatenate([period, _pattern_symbols(config.pattern2, scs_khz)])
  num_slots = 10 * (scs_khz // 15) if num_slots is None else int(num_slots)
  return np.resize(period, (num_slots, SYMBOLS_PER_SLOT))


def slot_string(config: TddConfig, scs_khz: int) -> str:
  """One period as 'D' (all downlink), 'U' (no downlink) and 'S' (some downlink) slots, e.g. 'DDDSU'."""
  period_slots = sum(_slots_in_period(p, scs_khz, 'pattern') for p in (config.pattern1, config.pattern2) if p)
  dl = downlink_symbols(config, scs_khz, period_slots).sum(axis=1)
  return ''.join('D' if n == SYMBOLS_PER_SLOT else 'U' if n == 0 else 'S' for n in dl)
