"""NR PDCCH resources: the REGs, REG bundles and CCEs of a CORESET (TS 38.211 §7.3.2), where the PDCCH and its
DM-RS lie (§7.4.1.3.2), and the CCEs of the PDCCH candidates of a search space set (TS 38.213 §10.1).

A REG is one RB during one OFDM symbol, numbered time first within the CORESET: REG n is the CORESET's RB
n // N_symb^CORESET in its symbol n % N_symb^CORESET (TS 38.211 §7.3.2.2). A CCE is 6 REGs.
"""

from __future__ import annotations

import numpy as np

from specsense_jax.signals import waveform

REG_SUBCARRIERS = 12
REGS_PER_CCE = 6  # TS 38.211 §7.3.2.2
AGGREGATION_LEVELS = (1, 2, 4, 8, 16)  # TS 38.211 Table 7.3.2.1-1
INTERLEAVER_SIZES = (2, 3, 6)  # R of the interleaver, TS 38.211 §7.3.2.2
MAX_SHIFT_INDEX = 1007  # n_shift: shiftIndex 0..274, or N_ID^cell 0..1007 when absent (TS 38.211 §7.3.2.2)
# TS 38.211 §7.4.1.3.2: PDCCH DM-RS on k = 12n + 4k' + 1, k' = 0, 1, 2: subcarriers 1, 5, 9 of each REG.
DMRS_SUBCARRIERS = (1, 5, 9)
# TS 38.213 Table 10.1-1: CCE aggregation level -> PDCCH candidates of the Type0-PDCCH CSS set (searchSpaceSIB1,
# and search space zero of the MIB).
TYPE0_CSS_CANDIDATES = {4: 4, 8: 2, 16: 1}
# TS 38.213 §10.1, UE-specific search space hashing: Y_p,n = (A_p·Y_p,n-1) mod D with Y_p,-1 = n_RNTI; A_p by
# CORESET index p mod 3.
USS_HASH_A = {0: 39827, 1: 39829, 2: 39839}
USS_HASH_D = 65537
MAX_CANDIDATES = 8  # nrofCandidates n0 .. n8 per aggregation level (TS 38.331 SearchSpace)


def coreset0_mapping(ncellid: int) -> dict:
  """The `cce_reg_bundles` keywords of CORESET0: interleaved, L = 6, R = 2, n_shift = N_ID^cell (TS 38.211
  §7.3.2.2, CORESET 0 configured by ControlResourceSetZero)."""
  ncellid = waveform.check_int('ncellid', ncellid, lambda v: 0 <= v < 1008, 'an int in [0, 1007]')
  return dict(interleaved=True, bundle_size=6, interleaver_size=2, shift_index=ncellid)


def num_cces(n_rb_coreset: int, n_symbols: int) -> int:
  """N_CCE of a CORESET: N_RB^CORESET·N_symb^CORESET / 6."""
  _check_coreset(n_rb_coreset, n_symbols)
  return n_rb_coreset * n_symbols // REGS_PER_CCE


def _check_coreset(n_rb_coreset, n_symbols) -> None:
  waveform.check_int('n_rb_coreset', n_rb_coreset, lambda v: v > 0 and v % 6 == 0,
             'a positive multiple of 6 (CORESET RBs come in groups of 6, TS 38.331 ControlResourceSet)')
  waveform.check_int('n_symbols', n_symbols, lambda v: v in (1, 2, 3), '1, 2 or 3 (N_symb^CORESET, TS 38.211 §7.3.2.2)')


def reg_bundle_interleaver(n_bundles: int, interleaver_size: int, shift_index: int) -> np.ndarray:
  """f(x) for x = 0 .. n_bundles - 1 (TS 38.211 §7.3.2.2).

  f(x) = (r·C + c + n_shift) mod n_bundles with x = c·R + r, r < R, c < C and C = n_bundles / R.
  """
  r_size = waveform.check_int('interleaver_size', interleaver_size, lambda v: v in INTERLEAVER_SIZES,
                      f'one of {INTERLEAVER_SIZES} (R, TS 38.211 §7.3.2.2)')
  shift = waveform.check_int('shift_index', shift_index, lambda v: 0 <= v <= MAX_SHIFT_INDEX,
                     f'an int in [0, {MAX_SHIFT_INDEX}] (n_shift, TS 38.211 §7.3.2.2)')
  if n_bundles % r_size:  # the UE is not expected to handle a C that is not an integer
    raise ValueError(f'interleaver_size={r_size} does not divide the {n_bundles} REG bundles of the CORESET '
                     f'(C = N_REG / (L·R) must be an integer, TS 38.211 §7.3.2.2)')
  x = np.arange(n_bundles)
  c, r = x // r_size, x % r_size
  return (r * (n_bundles // r_size) + c + shift) % n_bundles


def cce_reg_bundles(n_rb_coreset: int, n_symbols: int, *, interleaved: bool, bundle_size: int = 6,
                    interleaver_size: int = 2, shift_index: int = 0) -> np.ndarray:
  """The REGs of every CCE of a CORESET (TS 38.211 §7.3.2.2).

  REG bundle i is REGs {iL, ..., iL + L - 1}; CCE j is bundles f(6j/L), ..., f(6j/L + 6/L - 1), with f(x) = x
  for non-interleaved mapping (L = 6) and `reg_bundle_interleaver` for interleaved mapping.

  Args:
    n_rb_coreset: N_RB^CORESET, a multiple of 6.
    n_symbols: N_symb^CORESET, 1..3.
    interleaved: cce-REG-MappingType interleaved (CORESET0: see `coreset0_mapping`).
    bundle_size: L; 6 when not interleaved; interleaved: 2 or 6 for 1 symbol, N_symb^CORESET or 6 otherwise.
    interleaver_size: R, 2, 3 or 6 (interleaved only).
    shift_index: n_shift: shiftIndex 0..274, or N_ID^cell 0..1007 when shiftIndex is absent (interleaved only).

  Returns:
    (N_CCE, 6) int array: row j holds the REG indices of CCE j, bundle by bundle.
  """
  _check_coreset(n_rb_coreset, n_symbols)
  n_reg = n_rb_coreset * n_symbols
  allowed = ((2, 6) if n_symbols == 1 else (n_symbols, 6)) if interleaved else (6,)
  bundle_size = waveform.check_int('bundle_size', bundle_size, lambda v: v in allowed,
                           f'one of {allowed} for {"" if interleaved else "non-"}interleaved mapping with '
                           f'{n_symbols} symbol(s) (L, TS 38.211 §7.3.2.2)')
  n_bundles = n_reg // bundle_size
  f = reg_bundle_interleaver(n_bundles, interleaver_size, shift_index) if interleaved else np.arange(n_bundles)
  per_cce = REGS_PER_CCE // bundle_size
  bundles = f.reshape(-1, per_cce)  # CCE j: f(6j/L + k), k < 6/L
  return (bundles[:, :, None] * bundle_size + np.arange(bundle_size)).reshape(-1, REGS_PER_CCE)


def reg_positions(regs: np.ndarray, n_symbols: int) -> tuple[np.ndarray, np.ndarray]:
  """(RB within the CORESET, symbol within the CORESET) of REG indices: time-first numbering."""
  regs = np.asarray(regs)
  return regs // n_symbols, regs % n_symbols


def pdcch_re_mask(n_rb_carrier: int, coreset_rb_start: int, n_rb_coreset: int, n_symbols: int, cces,
                  **mapping) -> tuple[np.ndarray, np.ndarray]:
  """Resource elements of the PDCCH on the given CCEs: its data REs and its DM-RS REs.

  The DM-RS is on subcarriers 1, 5 and 9 of every REG of the PDCCH (TS 38.211 §7.4.1.3.2, precoderGranularity
  sameAsREG-bundle, as for CORESET0); the other 9 REs of each REG carry PDCCH data.

  Args:
    n_rb_carrier: RBs of the grid the masks cover.
    coreset_rb_start: the CORESET's lowest RB in that grid (contiguous RBs, as CORESET0).
    n_rb_coreset: N_RB^CORESET.
    n_symbols: N_symb^CORESET.
    cces: CCE indices of the PDCCH (e.g. a row of `search_space_candidates`); repeats are allowed.
    **mapping: the keywords of `cce_reg_bundles` (e.g. `coreset0_mapping(ncellid)`).

  Returns:
    (data, dmrs): (n_symbols, 12·n_rb_carrier) bool masks over the CORESET's symbols.
  """
  bundles = cce_reg_bundles(n_rb_coreset, n_symbols, **mapping)
  n_rb_carrier = waveform.check_int('n_rb_carrier', n_rb_carrier, lambda v: v > 0, 'a positive int')
  waveform.check_int('coreset_rb_start', coreset_rb_start, lambda v: 0 <= v <= n_rb_carrier - n_rb_coreset,
             f'an int in [0, {n_rb_carrier - n_rb_coreset}] (the CORESET of {n_rb_coreset} RBs inside the '
             f'{n_rb_carrier} RBs)')
  cces = np.asarray(cces)
  cces = cces.astype(np.int64) if cces.size == 0 else cces  # an empty list is float
  if cces.dtype.kind not in 'iu' or cces.ndim > 1 or np.any((cces < 0) | (cces >= len(bundles))):
    raise ValueError(f'cces must be a 1-D sequence of CCE indices in [0, {len(bundles) - 1}], got {cces!r}')
  rb, symbol = reg_positions(bundles[cces.astype(np.int64)].reshape(-1), n_symbols)
  used = np.zeros((n_symbols, n_rb_carrier), bool)
  used[symbol, coreset_rb_start + rb] = True
  res = np.repeat(used, REG_SUBCARRIERS, axis=1)
  dmrs_in_rb = np.isin(np.arange(REG_SUBCARRIERS), DMRS_SUBCARRIERS)
  dmrs = res & np.tile(dmrs_in_rb, n_rb_carrier)
  return res & ~dmrs, dmrs


def uss_hash(n_rnti: int, coreset_id: int, slot: int) -> int:
  """Y_p,n of a UE-specific search space in slot n of a frame: A_p^(n+1)·n_RNTI mod D (TS 38.213 §10.1)."""
  n_rnti = waveform.check_int('n_rnti', n_rnti, lambda v: 0 < v < 2**16, 'an int in [1, 65535] (C-RNTI, Y_p,-1 != 0)')
  p = waveform.check_int('coreset_id', coreset_id, lambda v: v >= 0, 'a non-negative int (CORESET index p)')
  n = waveform.check_int('slot', slot, lambda v: v >= 0, 'a non-negative int (slot number within the frame)')
  return pow(USS_HASH_A[p % 3], n + 1, USS_HASH_D) * n_rnti % USS_HASH_D


def search_space_candidates(n_cce: int, aggregation_level: int, num_candidates: int, *, slot: int = 0,
                            n_rnti: int | None = None, coreset_id: int = 0,
                            max_candidates: int | None = None) -> np.ndarray:
  """CCEs of each PDCCH candidate of a search space set at one aggregation level (TS 38.213 §10.1).

  Candidate m uses CCEs L·((Y + floor(m·N_CCE / (L·M_max))) mod floor(N_CCE / L)) + i, i = 0 .. L - 1, with
  n_CI = 0. Y = 0 for a common search space (`n_rnti` None) and `uss_hash` otherwise. Candidates can coincide
  where N_CCE < L·M (e.g. AL 4 in an 8-CCE CORESET0); no candidate fits where N_CCE < L.

  Args:
    n_cce: N_CCE,p, CCEs of the CORESET (`num_cces`).
    aggregation_level: L, one of 1, 2, 4, 8, 16.
    num_candidates: M^(L), 0..8.
    slot: slot number within the frame (USS only).
    n_rnti: the C-RNTI for a UE-specific search space; None for a common search space.
    coreset_id: CORESET index p (USS only).
    max_candidates: M_max^(L) over the scheduled cells (USS cross-carrier); default `num_candidates`.

  Returns:
    (num_candidates, L) int array of CCE indices, or (0, L) where N_CCE < L.
  """
  n_cce = waveform.check_int('n_cce', n_cce, lambda v: v > 0, 'a positive int')
  level = waveform.check_int('aggregation_level', aggregation_level, lambda v: v in AGGREGATION_LEVELS,
                     f'one of {AGGREGATION_LEVELS} (TS 38.211 Table 7.3.2.1-1)')
  m_count = waveform.check_int('num_candidates', num_candidates, lambda v: 0 <= v <= MAX_CANDIDATES,
                       f'an int in [0, {MAX_CANDIDATES}]')
  m_max = m_count if max_candidates is None else waveform.check_int(
      'max_candidates', max_candidates, lambda v: m_count <= v <= MAX_CANDIDATES,
      f'an int in [{m_count}, {MAX_CANDIDATES}] (M_max >= num_candidates)')
  y = 0 if n_rnti is None else uss_hash(n_rnti, coreset_id, slot)
  if n_cce < level or m_count == 0:
    return np.zeros((0, level), np.int64)
  m = np.arange(m_count)
  first = level * ((y + m * n_cce // (level * m_max)) % (n_cce // level))
  return first[:, None] + np.arange(level)


def type0_css_candidates(n_cce: int) -> dict[int, np.ndarray]:
  """The candidates of the Type0-PDCCH CSS set in CORESET0 per aggregation level (TS 38.213 Table 10.1-1)."""
  return {level: search_space_candidates(n_cce, level, count) for level, count in TYPE0_CSS_CANDIDATES.items()}
