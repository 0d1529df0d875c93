"""LTE control region (TS 36.211 §6.2.4, §6.7-§6.9, normal CP): resource-element groups, PCFICH and PHICH
positions and symbols, the PDCCH mapping of CCEs to REGs (§6.8.5), and transmit-diversity precoding (§6.3.4.3).
"""

from __future__ import annotations

import numpy as np

from specsense_jax.signals import sequences

N_SC = 12
# TS 36.212 Table 5.1.4-2: inter-column permutation of the sub-block interleaver for convolutionally coded data,
# which TS 36.211 §6.8.5 applies to PDCCH symbol quadruplets.
SUBBLOCK_PERMUTATION = (1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
                        0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30)
REGS_PER_CCE = 9  # TS 36.211 §6.8.1
# TS 36.213 Table 9.1.1-1: PDCCH candidates per aggregation level in the common and UE-specific search spaces.
COMMON_CANDIDATES = {4: 4, 8: 2}
UE_CANDIDATES = {1: 6, 2: 6, 4: 2, 8: 2}
# TS 36.213 §9.1.1: Y_k = (A·Y_{k-1}) mod D for the UE-specific search space.
_SEARCH_A, _SEARCH_D = 39827, 65537
# TS 36.212 Table 5.3.4-1: the 32-bit CFI codewords.
_CFI_CODEWORDS = {cfi: np.resize(np.array(pattern, np.uint8), 32)
                  for cfi, pattern in {1: (0, 1, 1), 2: (1, 0, 1), 3: (1, 1, 0)}.items()}
# TS 36.211 Table 6.9.1-2: PHICH orthogonal sequences, normal CP.
PHICH_W = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1],
                    [1j, 1j, 1j, 1j], [1j, -1j, 1j, -1j], [1j, 1j, -1j, -1j], [1j, -1j, -1j, 1j]])
_PHICH_NG = (1 / 6, 1 / 2, 1, 2)


def symbol0_reg_data_offsets(ncellid: int) -> np.ndarray:
  """Offsets (0..5) of the 4 data REs of a 6-RE REG (symbol 0; symbol 1 with 4 ports): RS positions of ports
  0 and 1 (2 and 3) are excluded, whether or not port 1 is configured (TS 36.211 §6.2.4)."""
  offsets = np.arange(6)
  return offsets[(offsets - ncellid % 6) % 3 != 0]


def pcfich_reg_starts(ncellid: int, n_rb: int) -> np.ndarray:
  """First subcarrier of the 4 PCFICH REGs in symbol 0 (TS 36.211 §6.7.4)."""
  k_bar = (N_SC // 2) * (ncellid % (2 * n_rb))
  return (k_bar + (np.arange(4) * n_rb // 2) * (N_SC // 2)) % (n_rb * N_SC)


def pcfich_symbols(ncellid: int, ns, cfi: int) -> np.ndarray:
  """16 scrambled QPSK PCFICH symbols of the subframe of slot(s) `ns` (TS 36.211 §6.7.1-6.7.2)."""
  c_init = (np.asarray(ns) // 2 + 1) * (2 * ncellid + 1) * 2**9 + ncellid
  return sequences.qpsk_from_bits(_CFI_CODEWORDS[cfi] ^ sequences.gold_sequence(c_init, 32))


def phich_group_count(n_rb: int, ng: float) -> int:
  """N_group^PHICH = ceil(Ng·N_RB/8) for normal CP (TS 36.211 §6.9)."""
  if not any(abs(ng - v) < 1e-9 for v in _PHICH_NG):
    raise ValueError(f'phich_ng must be one of 1/6, 1/2, 1, 2, got {ng!r}')
  return int(np.ceil(ng * n_rb / 8 - 1e-9))


def phich_reg_starts(ncellid: int, n_rb: int, group: int) -> np.ndarray:
  """First subcarrier of the 3 REGs of PHICH group `group`, normal duration (TS 36.211 §6.9.3)."""
  all_regs = np.arange(0, n_rb * N_SC, 6)
  free = np.setdiff1d(all_regs, pcfich_reg_starts(ncellid, n_rb))
  n0 = len(free)
  n_bar = (ncellid + group + np.arange(3) * n0 // 3) % n0
  return free[n_bar]


def phich_symbols(ncellid: int, ns: int, phichs) -> np.ndarray:
  """12 symbols of one PHICH group: the sum of its PHICHs, each given as (sequence index, HI bit).

  HI is repeated 3 times, BPSK-mapped ((1 + j)/sqrt(2) for 0), spread by the orthogonal sequence and
  scrambled (TS 36.211 §6.9.1), normal CP.
  """
  c_init = (ns // 2 + 1) * (2 * ncellid + 1) * 2**9 + ncellid
  c = sequences.gold_sequence(c_init, 12).astype(np.float64)
  out = np.zeros(12, np.complex128)
  i = np.arange(12)
  for seq, hi in phichs:
    z = (1 + 1j) / np.sqrt(2) * (1 - 2 * hi)
    out += PHICH_W[seq][i % 4] * (1 - 2 * c) * z
  return out.astype(np.complex64)


def control_regs(ncellid: int, n_rb: int, control_len: int, num_ports: int = 1
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """The REGs of the first `control_len` symbols in the order of TS 36.211 §6.8.5: by the subcarrier k' that
  represents them (their lowest one), then by symbol l'.

  A REG is the 6 REs k0..k0+5 less 2 RS positions in symbol 0 (and in symbol 1 with 4 ports), else the 4 REs
  k0..k0+3 (§6.2.4).

  Returns:
    (l of each REG, k0 of each REG, (n, 4) subcarriers of its data REs).
  """
  ls, starts, res = [], [], []
  for l in range(control_len):
    if l == 0 or (l == 1 and num_ports == 4):
      k0 = np.arange(0, n_rb * N_SC, 6)
      data = k0[:, None] + symbol0_reg_data_offsets(ncellid)
    else:
      k0 = np.arange(0, n_rb * N_SC, 4)
      data = k0[:, None] + np.arange(4)
    ls.append(np.full(len(k0), l))
    starts.append(k0)
    res.append(data)
  l, k0, data = np.concatenate(ls), np.concatenate(starts), np.concatenate(res)
  order = np.lexsort((l, k0))
  return l[order], k0[order], data[order]


def subblock_interleaver(num: int) -> np.ndarray:
  """Input index of each output of the sub-block interleaver of TS 36.212 §5.1.4.2.1 for `num` elements.

  The input is written row by row into a 32-column matrix after R·32 - num leading <NULL>s, the columns are
  permuted by Table 5.1.4-2 and read column by column; the <NULL>s are dropped (TS 36.211 §6.8.5).
  """
  rows = -(-num // 32)
  matrix = (np.arange(rows * 32) - (rows * 32 - num)).reshape(rows, 32)  # negative: <NULL>
  out = matrix[:, list(SUBBLOCK_PERMUTATION)].T.reshape(-1)
  return out[out >= 0]


def cce_regs(ncellid: int, num_regs: int) -> np.ndarray:
  """(N_CCE, 9): the PDCCH REG (index into the free REGs in §6.8.5 order) carrying each quadruplet of each CCE.

  Quadruplet q = 9·CCE + j is interleaved (w(i) = quadruplet π(i)), cyclically shifted (w̄(i) =
  w((i + N_ID^cell) mod M_quad)), and w̄(m') goes to REG m' (TS 36.211 §6.8.5).
  """
  order = subblock_interleaver(num_regs)
  quad_at_reg = order[(np.arange(num_regs) + ncellid) % num_regs]
  reg_of_quad = np.empty(num_regs, np.int64)
  reg_of_quad[quad_at_reg] = np.arange(num_regs)
  num_cce = num_regs // REGS_PER_CCE
  return reg_of_quad[:num_cce * REGS_PER_CCE].reshape(num_cce, REGS_PER_CCE)


def search_space(num_cce: int, aggregation: int, rnti: int | None = None, subframe: int = 0) -> list[np.ndarray]:
  """CCE sets of the PDCCH candidates (TS 36.213 §9.1.1): the common search space when `rnti` is None (Y_k = 0,
  aggregation 4 or 8), else the UE-specific one of C-RNTI `rnti` in subframe number `subframe`."""
  table = COMMON_CANDIDATES if rnti is None else UE_CANDIDATES
  slots = num_cce // aggregation
  if aggregation not in table or slots == 0:
    return []
  y = 0
  if rnti is not None:
    y = rnti
    for _ in range(subframe + 1):  # Y_{-1} = n_RNTI, Y_k = A·Y_{k-1} mod D, k = subframe number
      y = (_SEARCH_A * y) % _SEARCH_D
  starts = []
  for m in range(table[aggregation]):
    start = aggregation * ((y + m) % slots)
    if start not in starts:
      starts.append(start)
  return [start + np.arange(aggregation) for start in starts]


def transmit_diversity(d: np.ndarray, num_ports: int) -> np.ndarray:
  """Layer mapping and precoding for transmit diversity (TS 36.211 §6.3.3.3, §6.3.4.3), on the last axis.

  2 ports (SFBC): y0(2i) = x0, y1(2i) = -x1*, y0(2i+1) = x1, y1(2i+1) = x0*, with x_k(i) = d(2i + k).
  4 ports (SFBC with FSTD): pair (x0, x1) on ports 0 and 2 at REs 4i, 4i+1, pair (x2, x3) on ports 1 and 3 at
  REs 4i+2, 4i+3, with x_k(i) = d(4i + k). All divided by sqrt(2).

  Returns:
    (num_ports, ...) complex64, one row per port (d itself for one port).
  """
  d = np.asarray(d)
  if num_ports == 1:
    return d[None]
  y = np.zeros((num_ports,) + d.shape, np.complex64)
  half = np.float32(1 / np.sqrt(2))
  # (first symbol of the pair in a block, block length, the two ports carrying the pair)
  pairs = ((0, 2, (0, 1)),) if num_ports == 2 else ((0, 4, (0, 2)), (2, 4, (1, 3)))
  for first, step, (port_a, port_b) in pairs:
    x0, x1 = d[..., first::step], d[..., first + 1::step]
    y[port_a, ..., first::step] = x0 * half
    y[port_b, ..., first::step] = -np.conj(x1) * half
    y[port_a, ..., first + 1::step] = x1 * half
    y[port_b, ..., first + 1::step] = np.conj(x0) * half
  return y


def phich_precode(d: np.ndarray, num_ports: int, groups: np.ndarray) -> np.ndarray:
  """PHICH precoding (TS 36.211 §6.9.2, normal CP): transmit diversity, except that with 4 ports quadruplet i of
  group n_group uses ports 1 and 3 for its first pair (and 0 and 2 for its second) when (i + n_group) is odd.

  Args:
    d: (..., 12) symbols of PHICH groups.
    num_ports: 1, 2 or 4.
    groups: group number of each row of d (broadcast against d's leading axes).

  Returns:
    (num_ports, ..., 12).
  """
  y = transmit_diversity(d, num_ports)
  if num_ports == 4:
    quad = np.arange(12) // 4
    odd = (quad + np.asarray(groups)[..., None]) % 2 == 1
    y = np.where(odd, y[[1, 0, 3, 2]], y)
  return y
