"""LTE TDD, frame structure type 2 (TS 36.211 §4.2): uplink-downlink and special subframe configurations,
and which OFDM symbols of a 10 ms frame may carry downlink energy (normal cyclic prefix only).
"""

from __future__ import annotations

import numpy as np

DUPLEX_MODES = ('fdd', 'tdd')
# TS 36.211 §4.2, Table 4.2-2: uplink-downlink configurations; subframes 0..9 as D (downlink),
# S (special: DwPTS, GP, UpPTS) or U (uplink), with the downlink-to-uplink switch-point periodicity (ms).
UL_DL_CONFIGS = {
    0: ('DSUUUDSUUU', 5),
    1: ('DSUUDDSUUD', 5),
    2: ('DSUDDDSUDD', 5),
    3: ('DSUUUDDDDD', 10),
    4: ('DSUUDDDDDD', 10),
    5: ('DSUDDDDDDD', 10),
    6: ('DSUUUDSUUD', 5),
}
# TS 36.211 §4.2, Table 4.2-1, normal cyclic prefix in downlink and uplink: (DwPTS, UpPTS) in T_s
# (1 subframe = 30720 T_s); GP is the rest of the subframe.
SPECIAL_SUBFRAME_CONFIGS_TS = {
    0: (6592, 2192), 1: (19760, 2192), 2: (21952, 2192), 3: (24144, 2192), 4: (26336, 2192),
    5: (6592, 4384), 6: (19760, 4384), 7: (21952, 4384), 8: (24144, 4384), 9: (13168, 4384),
}
SUBFRAME_TS = 30720
# Normal-CP symbol lengths in T_s (TS 36.211 §6.12): 160 + 2048 for symbols 0 and 7, 144 + 2048 otherwise.
_SYMBOL_TS = np.array([2208 if l % 7 == 0 else 2192 for l in range(14)])
# TS 36.211 §6.9, Table 6.9-1: PHICH group factor m_i per subframe for frame structure type 2 (0 where the
# table has '-', i.e. uplink subframes, which carry no PHICH).
PHICH_M = {
    0: (2, 1, 0, 0, 0, 2, 1, 0, 0, 0),
    1: (0, 1, 0, 0, 1, 0, 1, 0, 0, 1),
    2: (0, 0, 0, 1, 0, 0, 0, 0, 1, 0),
    3: (1, 0, 0, 0, 0, 0, 0, 0, 1, 1),
    4: (0, 0, 0, 0, 0, 0, 0, 0, 1, 1),
    5: (0, 0, 0, 0, 0, 0, 0, 0, 1, 0),
    6: (1, 1, 0, 0, 0, 1, 1, 0, 0, 1),
}
# Frame structure type 2 positions (TS 36.211 §6.11.1.2, §6.11.2.2): (subframes, symbol of the subframe).
PSS_POSITION = ((1, 6), 2)
SSS_POSITION = ((0, 5), 13)
# TS 36.211 Table 6.7-1: in subframes 1 and 6 of frame structure type 2 the control region has at most
# 2 OFDM symbols (the PSS is in symbol 2).
MAX_CONTROL_SYMBOLS_SUBFRAMES_1_6 = 2
# No PDSCH in the DwPTS of special subframe configurations 0 and 5 with normal CP (TS 36.213 §7.1.7, the
# DwPTS holds only the control region and the PSS).
NO_PDSCH_SPECIAL_CONFIGS = (0, 5)


def check_config(duplex: str, ul_dl_config: int, special_subframe_config: int) -> None:
  """Raises ValueError naming the parameter and its allowed values if a duplex option is invalid."""
  if duplex not in DUPLEX_MODES:
    raise ValueError(f'duplex must be one of {DUPLEX_MODES}, got {duplex!r}')
  if isinstance(ul_dl_config, bool) or ul_dl_config not in UL_DL_CONFIGS:
    raise ValueError(f'ul_dl_config must be one of {sorted(UL_DL_CONFIGS)} (TS 36.211 Table 4.2-2), '
                     f'got {ul_dl_config!r}')
  if isinstance(special_subframe_config, bool) or special_subframe_config not in SPECIAL_SUBFRAME_CONFIGS_TS:
    raise ValueError(f'special_subframe_config must be one of {sorted(SPECIAL_SUBFRAME_CONFIGS_TS)} '
                     f'(TS 36.211 Table 4.2-1, normal CP), got {special_subframe_config!r}')


def dwpts_symbols(special_subframe_config: int) -> int:
  """Number of OFDM symbols in the DwPTS: the whole symbols that fit its T_s length (3, 9, 10, 11, 12, 3, 9,
  10, 11, 6 for configurations 0..9)."""
  dwpts_ts = SPECIAL_SUBFRAME_CONFIGS_TS[special_subframe_config][0]
  return int(np.searchsorted(np.cumsum(_SYMBOL_TS), dwpts_ts, side='right'))


def subframe_types(ul_dl_config: int) -> str:
  """'D', 'S' or 'U' for each subframe 0..9 of a radio frame (Table 4.2-2)."""
  return UL_DL_CONFIGS[ul_dl_config][0]


def downlink_symbols(ul_dl_config: int, special_subframe_config: int) -> np.ndarray:
  """(10, 14) bool: the OFDM symbols of each subframe of a 10 ms frame that may carry downlink energy.

  Every symbol of a downlink subframe, the DwPTS symbols of a special subframe, nothing in an uplink subframe
  (and nothing in the GP and UpPTS).
  """
  check_config('tdd', ul_dl_config, special_subframe_config)
  mask = np.zeros((10, 14), bool)
  for sf, kind in enumerate(subframe_types(ul_dl_config)):
    if kind == 'D':
      mask[sf] = True
    elif kind == 'S':
      mask[sf, :dwpts_symbols(special_subframe_config)] = True
  return mask


def control_symbols(cfi: int) -> np.ndarray:
  """(10,) control-region length of each subframe for frame structure type 2 with a given CFI."""
  lengths = np.full(10, cfi)
  lengths[list(PSS_POSITION[0])] = min(cfi, MAX_CONTROL_SYMBOLS_SUBFRAMES_1_6)
  return lengths


def pdsch_symbols(ul_dl_config: int, special_subframe_config: int, cfi: int) -> np.ndarray:
  """(10, 14) bool: the symbols where PDSCH may be sent (downlink symbols after the control region)."""
  mask = downlink_symbols(ul_dl_config, special_subframe_config) \
      & (np.arange(14)[None, :] >= control_symbols(cfi)[:, None])
  if special_subframe_config in NO_PDSCH_SPECIAL_CONFIGS:
    mask[[sf for sf, kind in enumerate(subframe_types(ul_dl_config)) if kind == 'S']] = False
  return mask


def phich_groups(ul_dl_config: int, n_group: int) -> np.ndarray:
  """(10,) number of PHICH groups m_i·N_group in each subframe (TS 36.211 §6.9, Table 6.9-1)."""
  return np.asarray(PHICH_M[ul_dl_config]) * n_group
