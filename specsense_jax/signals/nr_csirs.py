"""NR tracking reference signal (TRS): the NZP CSI-RS resource set with trs-Info (TS 38.214 §5.1.6.1.1), its
sequence (TS 38.211 §7.4.1.5.2) and resource-element mapping (TS 38.211 §7.4.1.5.3, Table 7.4.1.5.3-1 row 1).

FR1, normal cyclic prefix (14 symbols a slot), one antenna port. Carrier RB n is common RB n (offsetToCarrier = 0)
and the bandwidth part is the whole carrier, as in `nr.nr_source`. Slot indices count from slot 0 of SFN 0.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import sequences

N_SC = 12
SYMBOLS_PER_SLOT = 14
# TS 38.214 §5.1.6.1.1: periodicity 2^mu·X_p slots, X_p in {10, 20, 40, 80}, i.e. these periods in ms.
PERIODS_MS = (10, 20, 40, 80)
# TS 38.214 §5.1.6.1.1, FR1: the two resources of a slot are on symbols l in {4, 8}, {5, 9} or {6, 10}.
FIRST_SYMBOLS = (4, 5, 6)
SYMBOL_GAP = 4
# TS 38.331 NZP-CSI-RS-Resource powerControlOffsetSS ENUMERATED {db-3, db0, db3, db6}: CSI-RS EPRE over SSS EPRE.
POWER_OFFSETS_DB = (-3, 0, 3, 6)
# TS 38.211 Table 7.4.1.5.3-1 row 1 (1 port, density rho = 3, noCDM): k_bar = k0, k0 + 4, k0 + 8 in each RB.
DENSITY = 3
RE_OFFSETS = (0, 4, 8)
K0_VALUES = range(4)  # frequencyDomainAllocation row1 bitmap [b3..b0]: k0 = 0..3
# TS 38.214 §5.1.6.1.1: bandwidth min(52, N_BWP) or N_BWP RBs; no 10 ms period above 52 RBs.
MAX_NARROW_RBS = 52
# TS 38.331 CSI-FrequencyOccupation: startingRB in multiples of 4.
RB_START_STEP = 4
N_ID_RANGE = range(1024)  # ScramblingId INTEGER (0..1023)
_SCS_MU = {15: 0, 30: 1}


@dataclasses.dataclass(frozen=True)
class TrsConfig:
  """One periodic TRS resource set (trs-Info) of FR1.

  Attributes:
    period_ms: one of PERIODS_MS.
    slot_offset: slot of the set's first slot within the period, 0..period slots - 1.
    first_symbol: l of the first resource of each slot, 4, 5 or 6 (the second is l + 4).
    k0: subcarrier of the first RE in each RB, 0..3 (REs k0, k0 + 4, k0 + 8).
    rb_start: first RB (startingRB, relative to CRB 0), a multiple of 4.
    n_rbs: RBs spanned: min(52, N_RB) or N_RB; None for the whole carrier (with rb_start 0).
    n_id: scramblingID 0..1023.
    power_offset_db: powerControlOffsetSS, one of POWER_OFFSETS_DB (amplitude 10^(dB/20) on unit-power REs).
    slots_per_set: 2 (four resources in two consecutive slots) or 1 (two resources in one slot, TS 38.214
      §5.1.6.1.1 when TDD has no two consecutive downlink slots).
  """
  period_ms: int = 20
  slot_offset: int = 0
  first_symbol: int = 4
  k0: int = 0
  rb_start: int = 0
  n_rbs: int | None = None
  n_id: int = 0
  power_offset_db: float = 0
  slots_per_set: int = 2

  def __post_init__(self):
    choices = {'period_ms': PERIODS_MS, 'first_symbol': FIRST_SYMBOLS, 'k0': K0_VALUES, 'n_id': N_ID_RANGE,
               'power_offset_db': POWER_OFFSETS_DB, 'slots_per_set': (1, 2)}
    for name, allowed in choices.items():
      value = getattr(self, name)
      types = (int, float, np.integer, np.floating) if name == 'power_offset_db' else (int, np.integer)
      if isinstance(value, bool) or not isinstance(value, types) or value not in allowed:
        shown = f'[{allowed.start}, {allowed.stop - 1}]' if isinstance(allowed, range) else allowed
        raise ValueError(f'TrsConfig.{name} must be one of {shown}, got {value!r}')
    for name in ('slot_offset', 'rb_start') + (('n_rbs',) if self.n_rbs is not None else ()):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f'TrsConfig.{name} must be a non-negative int, got {value!r}')
    if self.rb_start % RB_START_STEP:
      raise ValueError(f'TrsConfig.rb_start must be a multiple of {RB_START_STEP} (TS 38.331 startingRB), '
                       f'got {self.rb_start}')


class TrsRows(typing.NamedTuple):
  """TRS resource elements among some grid rows: `grid[rows[:, None], subcarriers] = values`.

  Attributes:
    rows: positions (into the caller's symbol list) of the rows that carry TRS.
    subcarriers: the TRS subcarriers, the same in every TRS symbol.
    values: (len(rows), len(subcarriers)) complex64.
  """
  rows: np.ndarray
  subcarriers: np.ndarray
  values: np.ndarray


def _mu(scs_khz: int) -> int:
  if scs_khz not in _SCS_MU:
    raise ValueError(f'scs_khz must be one of {sorted(_SCS_MU)}, got {scs_khz!r}')
  return _SCS_MU[scs_khz]


def period_slots(config: TrsConfig, scs_khz: int) -> int:
  """T_CSI-RS in slots (2^mu·X_p), checking that the slot offset lies inside it."""
  period = config.period_ms * 2**_mu(scs_khz)
  if config.slot_offset >= period:
    raise ValueError(f'TrsConfig.slot_offset must be in [0, {period - 1}] for a {config.period_ms} ms period at '
                     f'{scs_khz} kHz, got {config.slot_offset}')
  return period


def rb_span(config: TrsConfig, n_rb: int) -> tuple[int, int]:
  """(first RB, number of RBs) of the TRS on an N_RB carrier, validated against TS 38.214 §5.1.6.1.1."""
  if isinstance(n_rb, bool) or not isinstance(n_rb, (int, np.integer)) or n_rb < 1:
    raise ValueError(f'n_rb must be a positive int, got {n_rb!r}')
  if config.n_rbs is None:
    if config.rb_start:
      raise ValueError(f'TrsConfig.n_rbs=None spans the whole carrier, so rb_start must be 0, got '
                       f'{config.rb_start}')
    count = int(n_rb)
  else:
    allowed = sorted({min(MAX_NARROW_RBS, n_rb), n_rb})
    if config.n_rbs not in allowed:
      raise ValueError(f'TrsConfig.n_rbs must be min(52, N_RB) or N_RB (TS 38.214 §5.1.6.1.1), one of {allowed} '
                       f'for {n_rb} RBs, got {config.n_rbs}')
    count = int(config.n_rbs)
  if config.rb_start + count > n_rb:
    raise ValueError(f'TrsConfig.rb_start={config.rb_start} + n_rbs={count} exceeds the {n_rb} RBs of the carrier')
  if count > MAX_NARROW_RBS and config.period_ms == 10:
    raise ValueError(f'TrsConfig.period_ms=10 is not allowed with more than {MAX_NARROW_RBS} RBs '
                     f'(TS 38.214 §5.1.6.1.1), got {count} RBs')
  return int(config.rb_start), count


def _in_set(config: TrsConfig, scs_khz: int, slots: np.ndarray) -> np.ndarray:
  """Slots of the set: (slot - T_offset - j) mod T = 0 for j < slots_per_set (TS 38.211 §7.4.1.5.3)."""
  period = period_slots(config, scs_khz)
  return np.logical_or.reduce([(slots - config.slot_offset - j) % period == 0 for j in range(config.slots_per_set)])


def _on_symbol(config: TrsConfig, symbols: np.ndarray) -> np.ndarray:
  return (symbols == config.first_symbol) | (symbols == config.first_symbol + SYMBOL_GAP)


def trs_symbols(config: TrsConfig, scs_khz: int, num_slots: int) -> np.ndarray:
  """(num_slots, 14) bool: the OFDM symbols that carry the TRS, from slot 0 of SFN 0."""
  slots = np.arange(int(num_slots))
  return _in_set(config, scs_khz, slots)[:, None] & _on_symbol(config, np.arange(SYMBOLS_PER_SLOT))[None, :]


def trs_subcarriers(config: TrsConfig, n_rb: int) -> tuple[np.ndarray, np.ndarray]:
  """(k, m'): carrier subcarrier and sequence index of every TRS RE of a symbol, in increasing k.

  k = 12n + k_bar and m' = floor(n·rho) + floor(k_bar·rho / 12) = 3n + i for k_bar = k0 + 4i, with n the common
  RB index (TS 38.211 §7.4.1.5.3, k' = 0, alpha = rho for one port).
  """
  start, count = rb_span(config, n_rb)
  n = np.arange(start, start + count)[:, None]
  k_bar = config.k0 + np.asarray(RE_OFFSETS)[None, :]
  k = (N_SC * n + k_bar).reshape(-1)
  m = (DENSITY * n + (k_bar * DENSITY) // N_SC).reshape(-1)
  return k.astype(np.int64), m.astype(np.int64)


def c_init(n_id: int, slot_in_frame: int | np.ndarray, symbol: int | np.ndarray) -> np.ndarray:
  """CSI-RS scrambling init (TS 38.211 §7.4.1.5.2): (2^10·(14·n_sf + l + 1)·(2·n_ID + 1) + n_ID) mod 2^31."""
  slot_in_frame, symbol = np.asarray(slot_in_frame, np.int64), np.asarray(symbol, np.int64)
  return (2**10 * (SYMBOLS_PER_SLOT * slot_in_frame + symbol + 1) * (2 * n_id + 1) + n_id) % 2**31


def trs_rows(config: TrsConfig, n_rb: int, scs_khz: int, slots: np.ndarray, symbols: np.ndarray) -> TrsRows:
  """The TRS REs of any set of grid rows, each given by its slot (from SFN 0) and symbol within the slot.

  Values depend only on (slot, symbol), so rendering any subset of rows gives the same values as the whole grid.

  Args:
    config: the TRS configuration.
    n_rb: carrier width in RBs.
    scs_khz: 15 or 30.
    slots: int array of slot indices (e.g. symbol_index // 14).
    symbols: int array of symbols within the slot (e.g. symbol_index % 14), same shape as `slots`.

  Returns:
    `TrsRows`; r(m) = QPSK of the Gold sequence c(2m), c(2m + 1), times the power offset amplitude.
  """
  slots, symbols = np.broadcast_arrays(np.asarray(slots, np.int64), np.asarray(symbols, np.int64))
  slots, symbols = slots.reshape(-1), symbols.reshape(-1)
  mu = _mu(scs_khz)
  k, m = trs_subcarriers(config, n_rb)
  rows = np.flatnonzero(_in_set(config, scs_khz, slots) & _on_symbol(config, symbols))
  if not len(rows):
    return TrsRows(rows, k, np.zeros((0, len(k)), np.complex64))
  inits = c_init(config.n_id, slots[rows] % (10 * 2**mu), symbols[rows])
  r = sequences.qpsk_from_bits(sequences.gold_sequence(inits, 2 * (int(m[-1]) + 1)))
  amplitude = np.float32(portable_math.db_to_amplitude(config.power_offset_db))
  return TrsRows(rows, k, (r[:, m] * amplitude).astype(np.complex64))
