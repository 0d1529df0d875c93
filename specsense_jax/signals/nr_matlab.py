"""The MathWorks-parity NR load (nr_source's load='matlab'): a CORESET over the whole band at the start of every
slot and PDSCH in RB groups of the first 8 slots of each period, the texture of the MATLAB spectrum-sensing example.

Existing datasets depend on every draw and value here: change nothing (tests/signals/test_nr_tdd.py and
test_scene.py pin the bytes).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from specsense_jax.signals import counter_rng
from specsense_jax.signals import nr_pdsch
from specsense_jax.signals import sequences

N_SC = 12


def random_groups(rng: np.random.Generator, n: int, fraction: tuple[float, float], max_groups: int = 3
                  ) -> np.ndarray:
  """Marks 1..max_groups disjoint contiguous runs covering a U[fraction] share of n units (>= 1 unit)."""
  total = int(np.clip(round(rng.uniform(*fraction) * n), 1, n))
  groups = int(rng.integers(1, min(max_groups, total) + 1))
  cuts = np.sort(rng.choice(np.arange(1, total), size=groups - 1, replace=False)) if groups > 1 else []
  sizes = np.diff(np.concatenate([[0], cuts, [total]])).astype(int)
  gaps = rng.multinomial(n - total, np.ones(groups + 1) / (groups + 1))
  gaps[1:-1] += 1  # keep groups apart
  while gaps.sum() > n - total:  # undo the separation where there is no room, from the ends
    j = int(np.argmax(gaps))
    gaps[j] -= 1
  mask = np.zeros(n, bool)
  pos = gaps[0]
  for size, gap in zip(sizes, gaps[1:]):
    mask[pos:pos + size] = True
    pos += size + gap
  return mask


def rows(rng: np.random.Generator, key: int, ncellid: int, n_rb: int, scs_khz: int, ssb, downlink: np.ndarray | None,
         modulation: str, prb_fraction, slot_fraction, pdsch_period_slots: int, coreset_symbols: int
         ) -> tuple[Callable, dict]:
  """The row builder of the load and its params.

  Args:
    rng: the source's draw generator, after the SS/PBCH draws.
    key: counter-based key of the RE values.
    ncellid: N_ID^cell (DM-RS scrambling).
    n_rb: carrier RBs.
    scs_khz: 15 or 30.
    ssb: nr's SS/PBCH block writer (`fill`, `block_of`, `k0`).
    downlink: TDD: (symbols,) bool of downlink symbols (others are zeroed); None for FDD.
    modulation, prb_fraction, slot_fraction, pdsch_period_slots, coreset_symbols: as `nr.nr_waveform`.

  Returns:
    (rows(symbols, values=True), {'pdsch_prb_share', 'pdsch_slots'}).
  """
  n_sc = n_rb * N_SC
  slots_per_frame = 10 * scs_khz // 15
  ssb_k0 = ssb.k0
  # PDSCH: RB groups and slot groups repeating every `pdsch_period_slots`; DMRS type 1 on symbols 2 and 11,
  # port 1000 (even subcarriers); odd subcarriers of DMRS symbols stay empty (2 CDM groups without data).
  prb_mask = random_groups(rng, n_rb, prb_fraction)
  slot_mask = random_groups(rng, min(8, pdsch_period_slots), slot_fraction)
  pdsch_sc = np.repeat(prb_mask, N_SC)
  pdsch_slot = np.zeros(pdsch_period_slots, bool)  # slot within the PDSCH period -> carries PDSCH
  pdsch_slot[:len(slot_mask)] = slot_mask
  coreset_sc = (n_rb // 6) * 6 * N_SC  # CORESET0 over the band in whole 6-RB groups
  coreset_dmrs_k = np.arange(1, coreset_sc, 4)  # k = 12n + 4k' + 1

  def rows(symbols: np.ndarray, values: bool = True) -> np.ndarray:
    """Grid rows of `symbols`; with values=False only where they carry energy (bool), much cheaper."""
    symbols = np.asarray(symbols, np.int64)
    out = np.zeros((len(symbols), n_sc), np.complex64 if values else bool)
    slot, l = symbols // 14, symbols % 14
    slot_in_frame = slot % slots_per_frame
    re_index = symbols[:, None] * n_sc + np.arange(n_sc) if values else None
    coreset = np.flatnonzero(l < coreset_symbols)
    if len(coreset) and values:
      out[coreset, :coreset_sc] = counter_rng.qam(key, re_index[coreset, :coreset_sc])
      bits = sequences.gold_sequence(nr_pdsch.dmrs_c_init(ncellid, slot_in_frame[coreset], l[coreset]),
                                     2 * len(coreset_dmrs_k))
      out[coreset[:, None], coreset_dmrs_k] = sequences.qpsk_from_bits(bits)
    elif len(coreset):
      out[coreset, :coreset_sc] = True
    pdsch = pdsch_slot[slot % pdsch_period_slots] & (l >= coreset_symbols)
    in_ssb = ssb.block_of[symbols] >= 0
    if pdsch.any():
      used = np.zeros((len(symbols), n_sc), bool)
      used[pdsch] = pdsch_sc
      used[in_ssb, ssb_k0:ssb_k0 + 240] = False
      dmrs_row = pdsch & ((l == 2) | (l == 11))
      data = used & ~dmrs_row[:, None]
      dmrs_rows = np.flatnonzero(dmrs_row)
      even = used[dmrs_rows] & (np.arange(n_sc) % 2 == 0)
      if values:
        out[data] = counter_rng.qam(key, re_index[data], modulation)
        if len(dmrs_rows):
          r = sequences.qpsk_from_bits(sequences.gold_sequence(
              nr_pdsch.dmrs_c_init(ncellid, slot_in_frame[dmrs_rows], l[dmrs_rows]), n_sc))
          out[dmrs_rows] = np.where(even, r[:, np.arange(n_sc) // 2], out[dmrs_rows])
      else:
        out[data] = True
        out[dmrs_rows] |= even
    ssb.fill(out, symbols, values)
    if downlink is not None:  # uplink and guard symbols: no downlink energy (CORESET, PDSCH and DMRS too)
      out[~downlink[symbols]] = 0
    return out

  return rows, {'pdsch_prb_share': float(prb_mask.mean()), 'pdsch_slots': int(slot_mask.sum())}
