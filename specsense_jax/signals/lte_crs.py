"""LTE cell-specific reference signals (TS 36.211 §6.10.1): the sequence of a symbol and where each antenna
port's RS sit, for the generator (`lte`) and the receivers (`lte_receiver`, `lte_mib`) alike."""

from __future__ import annotations

import numpy as np

from specsense_jax.signals import sequences

N_RB_MAX = 110  # N_RB^max,DL: the sequence is defined for the widest carrier, centred on any narrower one


def sequence(ncellid: int, ns, l, cp: str = 'normal') -> np.ndarray:
  """r_{l,ns}(m), m < 2·N_RB^max (§6.10.1.1: c_init = 2^10(7(ns + 1) + l + 1)(2N_ID + 1) + 2N_ID + N_CP, N_CP 1
  for the normal and 0 for the extended CP); `ns` and `l` broadcast, the values on a last axis."""
  ns, l = np.broadcast_arrays(np.asarray(ns, np.int64), np.asarray(l, np.int64))
  n_cp = 1 if cp == 'normal' else 0
  c_init = 2**10 * (7 * (ns + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + n_cp
  return sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 4 * N_RB_MAX))


def subcarrier_offset(ncellid: int, port: int, ns, l) -> np.ndarray:
  """(v + v_shift) mod 6 of §6.10.1.2 (RS of `port` at k = 6m + this): v = 0 / 3 for port 0 in a slot's first /
  later RS symbol, 3 / 0 for port 1, 3(ns mod 2) for port 2 and 3 + 3(ns mod 2) for port 3; v_shift = N_ID mod 6.
  `l` is the symbol within the slot (0 = its first), either CP."""
  ns, l = np.broadcast_arrays(np.asarray(ns, np.int64), np.asarray(l, np.int64))
  v = np.where(l == 0, 3 * port, 3 - 3 * port) if port < 2 else 3 * (port - 2) + 3 * (ns % 2)
  return (v + ncellid % 6) % 6
