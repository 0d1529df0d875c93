"""5G NR downlink (TS 38.211 / 38.213 / 38.104): SS/PBCH burst, CORESET0 with PDCCH, PDSCH, OFDM-modulated
at the requested sample rate.

PSS, SSS, PBCH DMRS, PDCCH DMRS and PDSCH DMRS are bit-exact; PBCH, PDCCH and PDSCH carry random data
symbols (the load the spectrogram sees).
"""

from __future__ import annotations

import numpy as np

from specsense_jax.signals import counter_rng
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

N_SC = 12
# TS 38.104 Table 5.3.2-1 (FR1): N_RB per SCS (kHz) and channel bandwidth (MHz).
NR_N_RB = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133, 60: 162, 70: 189,
         80: 217, 90: 245, 100: 273},
}
# TS 38.213 §4.1: first symbols of the candidate SS/PBCH blocks in a half frame, per case and L.
_SSB_FIRST_SYMBOLS = {
    'A': lambda L: [s + 14 * n for n in range(L // 2) for s in (2, 8)],
    'B': lambda L: [s + 28 * n for n in range(L // 4) for s in (4, 8, 16, 20)],
    'C': lambda L: [s + 14 * n for n in range(L // 2) for s in (2, 8)],
}
_CASE_SCS = {'A': 15, 'B': 30, 'C': 30}


def n_rb_for(bandwidth_mhz: float, scs_khz: int) -> int:
  """N_RB of an NR FR1 channel bandwidth and SCS, or ValueError listing the allowed combinations."""
  if scs_khz not in NR_N_RB:
    raise ValueError(f'scs_khz must be one of {sorted(NR_N_RB)}, got {scs_khz!r}')
  table = NR_N_RB[scs_khz]
  for bw, n_rb in table.items():
    if abs(float(bandwidth_mhz) - bw) < 1e-9:
      return n_rb
  raise ValueError(f'bandwidth_mhz={bandwidth_mhz!r} is not defined for {scs_khz} kHz SCS in TS 38.104 '
                   f'Table 5.3.2-1; allowed: {sorted(table)} MHz')


def ssb_first_symbols(case: str, num_blocks: int) -> np.ndarray:
  """Half-frame symbol index of the first symbol of each candidate SS/PBCH block (TS 38.213 §4.1)."""
  if case not in _SSB_FIRST_SYMBOLS:
    raise ValueError(f'ssb_case must be one of {sorted(_SSB_FIRST_SYMBOLS)}, got {case!r}')
  if num_blocks not in (4, 8):
    raise ValueError(f'ssb_num_blocks (L) must be 4 or 8 in FR1 here, got {num_blocks!r}')
  return np.array(_SSB_FIRST_SYMBOLS[case](num_blocks))


def pbch_dmrs(ncellid: int, ssb_index: int, num_blocks: int, half_frame: int = 0) -> np.ndarray:
  """144 PBCH DMRS symbols (TS 38.211 §7.4.1.4.1)."""
  i_ssb = (ssb_index % 4) + 4 * half_frame if num_blocks == 4 else ssb_index % 8
  c_init = 2**11 * (i_ssb + 1) * (ncellid // 4 + 1) + 2**6 * (i_ssb + 1) + ncellid % 4
  return sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 288))


def ssb_grid(ncellid: int, ssb_index: int, num_blocks: int, pbch_data: np.ndarray) -> np.ndarray:
  """One SS/PBCH block as a (4, 240) grid (TS 38.211 §7.4.3.1, Table 7.4.3.1-1).

  Args:
    ncellid: physical cell identity.
    ssb_index: candidate block index (sets the PBCH DMRS).
    num_blocks: burst length L.
    pbch_data: (4, 240) symbols from which the 432 PBCH data REs are taken (random QPSK here).
  """
  block = np.zeros((4, 240), np.complex64)
  block[0, 56:183] = sequences.nr_pss(ncellid % 3)
  block[2, 56:183] = sequences.nr_sss(ncellid)
  pbch, dmrs = _pbch_masks(ncellid % 4)
  block[pbch] = pbch_data[pbch]
  rows, cols = np.nonzero(dmrs)  # row-major: increasing k within l, then l
  block[rows, cols] = pbch_dmrs(ncellid, ssb_index, num_blocks)
  return block


def _pbch_masks(v: int) -> tuple[np.ndarray, np.ndarray]:
  """(PBCH data, PBCH DMRS) RE masks of a block; DMRS on k = 4m + v (TS 38.211 Table 7.4.3.1-1)."""
  allocated = np.zeros((4, 240), bool)
  allocated[1] = allocated[3] = True
  allocated[2, :48] = allocated[2, 192:] = True
  dmrs = np.zeros((4, 240), bool)
  dmrs[:, v::4] = allocated[:, v::4]
  return allocated & ~dmrs, dmrs


def dmrs_c_init(n_id: int, slots: np.ndarray, symbols: np.ndarray, symbols_per_slot: int = 14) -> np.ndarray:
  """c_init of the PDCCH and PDSCH DMRS (TS 38.211 §7.4.1.1.1, §7.4.1.3.1), n_SCID = 0."""
  return (2**17 * (symbols_per_slot * slots + symbols + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31


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


def nr_source(bandwidth_mhz: float, scs_khz: int, *, ncellid: int, seed, duration_s: float = 0.04,
              ssb_case: str | None = None, ssb_num_blocks: int | None = None, ssb_period_ms: float = 20,
              ssb_rb_offset: int | None = None, modulation: str = 'qpsk', prb_fraction=(0.2, 0.7),
              slot_fraction=(0.1, 0.8), pdsch_period_slots: int = 20, coreset_symbols: int = 2,
              duplex: str = 'fdd', tdd_pattern: str | nr_tdd.TddPattern | nr_tdd.TddConfig = 'DDDSU'
              ) -> waveform_lib.GridSource:
  """The NR downlink of `nr_waveform` as a `GridSource` (rows built on demand); same arguments."""
  n_rb = n_rb_for(bandwidth_mhz, scs_khz)
  if not 0 <= int(ncellid) < 1008:
    raise ValueError(f'ncellid must be in [0, 1007] for NR, got {ncellid!r}')
  ncellid = int(ncellid)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  ssb_period_ms = waveform_lib.check_positive('ssb_period_ms', ssb_period_ms)
  waveform_lib.check_range('prb_fraction', prb_fraction, 0, 1)
  waveform_lib.check_range('slot_fraction', slot_fraction, 0, 1)
  ssb_case = ssb_case or ('A' if scs_khz == 15 else 'B')
  if _CASE_SCS.get(ssb_case) != scs_khz:
    raise ValueError(f'ssb_case {ssb_case!r} does not use {scs_khz} kHz SCS; allowed at {scs_khz} kHz: '
                     f'{[c for c, s in _CASE_SCS.items() if s == scs_khz]}')
  if coreset_symbols not in (1, 2, 3):
    raise ValueError(f'coreset_symbols must be 1, 2 or 3, got {coreset_symbols!r}')
  if modulation not in sequences.MODULATION_ORDERS:
    raise ValueError(f'modulation must be one of {sorted(sequences.MODULATION_ORDERS)}, got {modulation!r}')
  if pdsch_period_slots < 1:
    raise ValueError(f'pdsch_period_slots must be >= 1, got {pdsch_period_slots!r}')
  if duplex not in nr_tdd.DUPLEX_MODES:
    raise ValueError(f'duplex must be one of {nr_tdd.DUPLEX_MODES}, got {duplex!r}')
  tdd_config = nr_tdd.resolve(tdd_pattern, scs_khz)  # validated in FDD too, as LTE validates its TDD options
  tdd = tdd_config if duplex == 'tdd' else None
  draw_seq, data_seq = waveform_lib.seed_sequence(seed).spawn(2)
  rng = np.random.default_rng(draw_seq)
  key = counter_rng.key_from(data_seq)
  mu = {15: 0, 30: 1}[scs_khz]
  slots_per_frame = 10 * 2**mu
  num_slots = int(np.ceil(duration_s * 1e3 * 2**mu - 1e-9))
  num_symbols = 14 * num_slots
  n_sc = n_rb * N_SC

  # SS/PBCH burst: candidate blocks in the first half frame of each period, random transmitted subset.
  num_blocks = ssb_num_blocks or int(rng.choice([4, 8]))
  first_symbols = ssb_first_symbols(ssb_case, num_blocks)
  transmitted = rng.integers(0, 2, num_blocks).astype(bool)
  if not transmitted.any():
    transmitted[rng.integers(num_blocks)] = True
  if ssb_rb_offset is None:
    ssb_rb_offset = (n_rb - 20) // 2
  if not 0 <= ssb_rb_offset <= n_rb - 20:
    raise ValueError(f'ssb_rb_offset must be in [0, {n_rb - 20}] for {n_rb} RBs, got {ssb_rb_offset}')
  ssb_k0 = ssb_rb_offset * N_SC
  symbols_per_period = int(round(ssb_period_ms * 14 * 2**mu))
  # In TDD, the downlink symbols of the slot format; a candidate block touching any other symbol is not sent.
  downlink = None if tdd is None else nr_tdd.downlink_symbols(tdd, scs_khz, num_slots).reshape(-1)

  def sent(l0: int) -> bool:
    return l0 + 4 <= num_symbols and (downlink is None or bool(downlink[l0:l0 + 4].all()))

  ssb_first = [p + first_symbols[i] for p in range(0, num_symbols, symbols_per_period)
               for i in np.flatnonzero(transmitted) if sent(p + first_symbols[i])]
  ssb_block_of = np.full(num_symbols, -1)  # first symbol of the block each symbol belongs to
  ssb_index_of = {}
  for p in range(0, num_symbols, symbols_per_period):
    for i in np.flatnonzero(transmitted):
      l0 = p + first_symbols[i]
      if sent(l0):
        ssb_block_of[l0:l0 + 4] = l0
        ssb_index_of[l0] = int(i)

  # PDSCH: RB groups and slot groups repeating every `pdsch_period_slots`; DMRS type 1 on symbols 2 and 11,
  # port 1000 (even subcarriers); odd subcarriers of DMRS symbols stay empty (2 CDM groups without data).
  prb_mask = random_groups(rng, n_rb, prb_fraction)
  slot_mask = random_groups(rng, min(8, pdsch_period_slots), slot_fraction)
  pdsch_sc = np.repeat(prb_mask, N_SC)
  pdsch_slot = np.zeros(pdsch_period_slots, bool)  # slot within the PDSCH period -> carries PDSCH
  pdsch_slot[:len(slot_mask)] = slot_mask
  ssb_blocks = {}
  coreset_sc = (n_rb // 6) * 6 * N_SC  # CORESET0 over the band in whole 6-RB groups
  coreset_dmrs_k = np.arange(1, coreset_sc, 4)  # k = 12n + 4k' + 1

  pbch_data, pbch_dmrs_mask = _pbch_masks(ncellid % 4)
  ssb_active = pbch_data | pbch_dmrs_mask
  ssb_active[[0, 2], 56:183] = True

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
      bits = sequences.gold_sequence(dmrs_c_init(ncellid, slot_in_frame[coreset], l[coreset]),
                                     2 * len(coreset_dmrs_k))
      out[coreset[:, None], coreset_dmrs_k] = sequences.qpsk_from_bits(bits)
    elif len(coreset):
      out[coreset, :coreset_sc] = True
    pdsch = pdsch_slot[slot % pdsch_period_slots] & (l >= coreset_symbols)
    in_ssb = ssb_block_of[symbols] >= 0
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
              dmrs_c_init(ncellid, slot_in_frame[dmrs_rows], l[dmrs_rows]), n_sc))
          out[dmrs_rows] = np.where(even, r[:, np.arange(n_sc) // 2], out[dmrs_rows])
      else:
        out[data] = True
        out[dmrs_rows] |= even
    for j in np.flatnonzero(in_ssb):
      l0 = int(ssb_block_of[symbols[j]])
      if not values:
        out[j, ssb_k0:ssb_k0 + 240] = ssb_active[symbols[j] - l0]
        continue
      if l0 not in ssb_blocks:
        block_re = (l0 + np.arange(4))[:, None] * n_sc + ssb_k0 + np.arange(240)
        ssb_blocks[l0] = ssb_grid(ncellid, ssb_index_of[l0], num_blocks, counter_rng.qam(key, block_re))
      out[j, ssb_k0:ssb_k0 + 240] = ssb_blocks[l0][symbols[j] - l0]
    if downlink is not None:  # uplink and guard symbols: no downlink energy (CORESET, PDSCH and DMRS too)
      out[~downlink[symbols]] = 0
    return out

  params = {'standard': 'NR', 'bandwidth_mhz': float(bandwidth_mhz), 'scs_khz': scs_khz, 'n_rb': n_rb,
            'ncellid': ncellid, 'ssb_case': ssb_case, 'ssb_num_blocks': num_blocks,
            'ssb_transmitted': transmitted.astype(int).tolist(), 'modulation': modulation,
            'pdsch_prb_share': float(prb_mask.mean()), 'pdsch_slots': int(slot_mask.sum())}
  if tdd is not None:  # FDD params stay as they were (they are stored with existing datasets)
    params.update(duplex='tdd', tdd_pattern=tdd_pattern if isinstance(tdd_pattern, str) else repr(tdd),
                  tdd_slots=nr_tdd.slot_string(tdd, scs_khz))
  return waveform_lib.GridSource(
      label='NR', bandwidth_hz=float(bandwidth_mhz) * 1e6, num_subcarriers=n_sc, num_symbols=num_symbols,
      numerology_at=lambda fs: ofdm.nr_numerology(scs_khz, fs), rows=rows, params=params,
      ssb_symbols=tuple(ssb_first), ssb_subcarrier=ssb_k0 + 120)


def check_fits(occupied_hz: float, sample_rate: float, what: str) -> float:
  """Validates the sample rate and that the occupied band fits inside it."""
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  if occupied_hz > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth '
                     f'{occupied_hz / 1e6:g} MHz of {what}')
  return sample_rate


def nr_waveform(bandwidth_mhz: float, scs_khz: int, *, ncellid: int, seed, sample_rate: float = 61.44e6,
                duration_s: float = 0.04, **kwargs) -> waveform_lib.Waveform:
  """An NR downlink waveform (one antenna port), clean and centred at 0 Hz.

  Args:
    bandwidth_mhz: channel bandwidth (TS 38.104 Table 5.3.2-1).
    scs_khz: subcarrier spacing, 15 or 30.
    ncellid: physical cell identity 0..1007.
    seed: seed (int, ints or numpy SeedSequence) of every random draw.
    sample_rate: output rate; direct synthesis when the numerology is integral there, else resampled.
    duration_s: waveform length.
    **kwargs: structure options of `nr_source`: ssb_case ('A' at 15 kHz; 'B' default or 'C' at 30 kHz),
      ssb_num_blocks (L = 4 or 8, default drawn 50/50), ssb_period_ms (20), ssb_rb_offset (default centred),
      modulation (PDSCH: 'qpsk', '16qam', '64qam', '256qam'), prb_fraction ((0.2, 0.7): RB share in 1-3
      groups), slot_fraction ((0.1, 0.8): share of the first 8 slots of each period in 1-3 groups),
      pdsch_period_slots (20), coreset_symbols (2: CORESET0 over the band at the start of every slot),
      duplex ('fdd' default, or 'tdd') and tdd_pattern (TDD only: a preset name of `nr_tdd.PRESETS`, default
      'DDDSU' with a 10:2:2 special slot, '_6_4_4'-style suffixes select other splits, e.g. 'DDDSU_6_4_4'; or
      an `nr_tdd.TddPattern` / `nr_tdd.TddConfig`, the tdd-UL-DL-ConfigurationCommon of TS 38.213 §11.1).
      In TDD, uplink, guard and flexible symbols are exactly zero, and an SS/PBCH block whose candidate
      symbols are not all downlink is not sent (it is absent from `ssb_starts`).

  Returns:
    A `Waveform` labelled 'NR' with `ssb_offset_hz` and `ssb_starts`.
  """
  source = nr_source(bandwidth_mhz, scs_khz, ncellid=ncellid, seed=seed, duration_s=duration_s, **kwargs)
  sample_rate = check_fits(source.num_subcarriers * scs_khz * 1e3, sample_rate,
                           f'a {bandwidth_mhz} MHz NR carrier at {scs_khz} kHz')
  return source.waveform(sample_rate, int(round(duration_s * sample_rate)))
