"""LTE FDD downlink (TS 36.211 / TS 36.101): resource grid with PSS, SSS, CRS, PBCH, PCFICH, PHICH, PDCCH
and PDSCH, OFDM-modulated at the requested sample rate.

PBCH, PDCCH and PDSCH carry random data symbols (the load the spectrogram sees); the reference and
synchronization signals, the PCFICH and the PHICH are bit-exact.
"""

from __future__ import annotations

import numpy as np

from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences
from specsense_jax.signals import waveform as waveform_lib

N_SC = 12
N_RB_MAX = 110
# TS 36.101 Table 5.6-1: channel bandwidth (MHz) -> transmission bandwidth configuration N_RB.
LTE_N_RB = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}
# TS 36.101 Annex A.3.3 reference measurement channels used by the MathWorks example, by bandwidth.
RMC_PRESETS = {5: ('R.6', '64qam'), 10: ('R.2', 'qpsk'), 15: ('R.8', '64qam'), 20: ('R.9', '64qam')}
# TS 36.212 Table 5.3.4-1: the 32-bit CFI codewords.
_CFI_CODEWORDS = {cfi: np.resize(np.array(pattern, np.uint8), 32)
                  for cfi, pattern in {1: (0, 1, 1), 2: (1, 0, 1), 3: (1, 1, 0)}.items()}
# TS 36.211 Table 6.9.1-2: PHICH orthogonal sequences, normal CP.
_PHICH_W = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1],
                     [1j, 1j, 1j, 1j], [1j, -1j, 1j, -1j], [1j, 1j, -1j, -1j], [1j, -1j, -1j, 1j]])
_PHICH_NG = (1 / 6, 1 / 2, 1, 2)
LOADS = ('full', 'thinned', 'sparse', 'off')


def n_rb_for(bandwidth_mhz: float) -> int:
  """N_RB of an LTE channel bandwidth, or ValueError listing the defined bandwidths."""
  for bw, n_rb in LTE_N_RB.items():
    if np.isclose(float(bandwidth_mhz), bw):
      return n_rb
  raise ValueError(f'bandwidth_mhz={bandwidth_mhz!r} is not an LTE channel bandwidth; allowed: '
                   f'{sorted(LTE_N_RB)} MHz')


def crs_port0(ncellid: int, n_rb: int, ns: int, l: int) -> tuple[np.ndarray, np.ndarray]:
  """Cell-specific reference signal of antenna port 0 in slot `ns`, symbol `l` (0 or 4); TS 36.211 §6.10.1.

  Returns:
    (subcarrier indices k, complex64 values) for the 2·N_RB REs.
  """
  c_init = 2**10 * (7 * (ns + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + 1
  r = sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 4 * N_RB_MAX))
  m = np.arange(2 * n_rb)
  v = 0 if l == 0 else 3
  k = 6 * m + (v + ncellid % 6) % 6
  return k, r[m + N_RB_MAX - n_rb]


def _symbol0_reg_data_offsets(ncellid: int) -> np.ndarray:
  """Offsets (0..5) of the 4 data REs of a symbol-0 REG: RS positions of ports 0 and 1 are excluded."""
  offsets = np.arange(6)
  return offsets[(offsets - ncellid % 6) % 3 != 0]


def pcfich_reg_starts(ncellid: int, n_rb: int) -> np.ndarray:
  """First subcarrier of the 4 PCFICH REGs in symbol 0 (TS 36.211 §6.7.4)."""
  k_bar = (N_SC // 2) * (ncellid % (2 * n_rb))
  return (k_bar + (np.arange(4) * n_rb // 2) * (N_SC // 2)) % (n_rb * N_SC)


def pcfich_symbols(ncellid: int, ns: int, cfi: int) -> np.ndarray:
  """16 scrambled QPSK PCFICH symbols for subframe of slot `ns` (TS 36.211 §6.7.1-6.7.2)."""
  c_init = (ns // 2 + 1) * (2 * ncellid + 1) * 2**9 + ncellid
  return sequences.qpsk_from_bits(_CFI_CODEWORDS[cfi] ^ sequences.gold_sequence(c_init, 32))


def phich_group_count(n_rb: int, ng: float) -> int:
  if not any(np.isclose(ng, v) for v in _PHICH_NG):
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
    out += _PHICH_W[seq][i % 4] * (1 - 2 * c) * z
  return out.astype(np.complex64)


def lte_grid(ncellid: int, n_rb: int, num_subframes: int, rng: np.random.Generator, *, cfi: int = 2,
             phich_ng: float = 1, phich=None, pdsch_rbs: np.ndarray | None = None, modulation: str = 'qpsk',
             first_subframe: int = 0, channels=('pss', 'sss', 'crs', 'pbch', 'pcfich', 'phich', 'pdcch',
                                                'pdsch')) -> np.ndarray:
  """Builds the (14·num_subframes, 12·n_rb) port-0 resource grid.

  Args:
    ncellid: physical cell identity, 0..503.
    n_rb: number of resource blocks.
    num_subframes: subframes to build.
    rng: source of the random data symbols and PHICH contents.
    cfi: control format indicator (control symbols per subframe), 1..3 (2..4 symbols are not modelled).
    phich_ng: PHICH resource factor Ng.
    phich: {group: [(sequence, hi), ...]} for every subframe; default one random PHICH per group.
    pdsch_rbs: (num_subframes, n_rb) bool, the RBs carrying PDSCH; default none.
    modulation: PDSCH modulation.
    first_subframe: subframe number (mod 10) of the first subframe; numbers slots for the sequences.
    channels: which physical channels and signals to include.

  Returns:
    complex64 grid; unused REs are exactly zero.
  """
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503] for LTE, got {ncellid}')
  if cfi not in (1, 2, 3):
    raise ValueError(f'cfi must be 1, 2 or 3, got {cfi}')
  channels = set(channels)
  n_sc = n_rb * N_SC
  grid = np.zeros((14 * num_subframes, n_sc), np.complex64)
  centre = np.arange(n_sc // 2 - 36, n_sc // 2 + 36)  # the 72 subcarriers of PSS/SSS/PBCH
  v_shift = ncellid % 6
  reg0 = _symbol0_reg_data_offsets(ncellid)
  groups = phich_group_count(n_rb, phich_ng)
  for i in range(num_subframes):
    sf = (first_subframe + i) % 10
    base = 14 * i
    ns = 2 * sf
    reserved = np.zeros((14, n_sc), bool)  # REs no data channel may use
    crs_k = {}
    for slot in (0, 1):
      for l in (0, 4):
        k, values = crs_port0(ncellid, n_rb, ns + slot, l)
        crs_k[7 * slot + l] = k
        reserved[7 * slot + l, k] = True
        if 'crs' in channels:
          grid[base + 7 * slot + l, k] = values
    # Symbol 0 REGs also reserve port-1 RS positions.
    reserved[0, (np.arange(n_sc) - v_shift) % 3 == 0] = True
    if sf in (0, 5):
      n_id2 = ncellid % 3
      for l, values, name in ((6, sequences.lte_pss(n_id2), 'pss'), (5, sequences.lte_sss(ncellid, sf), 'sss')):
        if name in channels:
          grid[base + l, centre[5:67]] = values
        reserved[l, centre] = True
    if sf == 0:
      pbch_symbols = np.arange(7, 11)
      pbch_mask = np.zeros((14, n_sc), bool)
      pbch_mask[pbch_symbols[:, None], centre] = True
      pbch_mask[7:9, centre[(centre - v_shift) % 3 == 0]] = False  # RS of ports 0-3 assumed
      if 'pbch' in channels:
        rows, cols = np.nonzero(pbch_mask)
        grid[base + rows, cols] = sequences.random_qam(rng, len(rows))
      reserved[pbch_symbols[:, None], centre] = True
    control = np.zeros(n_sc, bool)
    for j, k0 in enumerate(pcfich_reg_starts(ncellid, n_rb)):
      if 'pcfich' in channels:
        grid[base, k0 + reg0] = pcfich_symbols(ncellid, ns, cfi)[4 * j:4 * j + 4]
      control[k0:k0 + 6] = True
    for group in range(groups):
      contents = (phich or {}).get(group) if phich is not None else \
          [(int(rng.integers(8)), int(rng.integers(2)))]
      for j, k0 in enumerate(phich_reg_starts(ncellid, n_rb, group)):
        if contents and 'phich' in channels:
          grid[base, k0 + reg0] = phich_symbols(ncellid, ns, contents)[4 * j:4 * j + 4]
        control[k0:k0 + 6] = True
    if 'pdcch' in channels:
      pdcch = np.zeros((14, n_sc), bool)
      pdcch[:cfi] = True
      pdcch[0, control] = False
      pdcch &= ~reserved
      rows, cols = np.nonzero(pdcch)
      grid[base + rows, cols] = sequences.random_qam(rng, len(rows))
    if 'pdsch' in channels and pdsch_rbs is not None and pdsch_rbs[i].any():
      data = np.zeros((14, n_sc), bool)
      data[cfi:, np.repeat(pdsch_rbs[i], N_SC)] = True
      data &= ~reserved
      rows, cols = np.nonzero(data)
      grid[base + rows, cols] = sequences.random_qam(rng, len(rows), modulation)
  return grid


def draw_pdsch_allocation(rng: np.random.Generator, n_rb: int, num_subframes: int, load: str) -> np.ndarray:
  """PDSCH RBs per subframe, following the MathWorks example's load thinning.

  'full': every RB of every subframe. 'sparse': per subframe RBs {0, 1} plus 0-2 random RBs. 'off' (used by
  'thinned'): full allocation with 1-8 of the 10 subframes of a frame switched off, the same in every frame.
  'thinned' picks 'sparse' or switched-off subframes with equal probability.
  """
  if load not in LOADS:
    raise ValueError(f'load must be one of {LOADS}, got {load!r}')
  if load == 'thinned':
    load = 'sparse' if rng.random() < 0.5 else 'off'
  rbs = np.ones((num_subframes, n_rb), bool)
  if load == 'sparse':
    rbs[:] = False
    rbs[:, :2] = True
    for i in range(num_subframes):
      rbs[i, rng.choice(n_rb, size=int(rng.integers(0, 3)), replace=False)] = True
  elif load == 'off':
    off = rng.choice(10, size=int(rng.integers(1, 9)), replace=False)
    rbs[np.isin(np.arange(num_subframes) % 10, off)] = False
  return rbs


def lte_waveform(bandwidth_mhz: float, *, ncellid: int, seed, sample_rate: float = 61.44e6,
                 duration_s: float = 0.04, modulation: str | None = None, load: str = 'thinned', cfi: int = 2,
                 phich_ng: float = 1) -> waveform_lib.Waveform:
  """An LTE FDD downlink waveform (one antenna port), clean and centred at 0 Hz.

  Args:
    bandwidth_mhz: channel bandwidth, one of 1.4, 3, 5, 10, 15, 20.
    ncellid: physical cell identity 0..503.
    seed: seed (or numpy SeedSequence) of every random draw.
    sample_rate: output rate; direct synthesis when it is a multiple of 1.92 MHz, else resampled.
    duration_s: waveform length.
    modulation: PDSCH modulation; default from the RMC preset of the bandwidth (R.6/R.2/R.8/R.9), else QPSK.
    load: PDSCH load ('full', 'thinned', 'sparse', 'off'); see `draw_pdsch_allocation`.
    cfi: control format indicator.
    phich_ng: PHICH resource factor Ng.

  Returns:
    A `Waveform` labelled 'LTE'.
  """
  n_rb = n_rb_for(bandwidth_mhz)
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  if n_rb * N_SC * 15e3 > sample_rate:
    raise ValueError(f'sample_rate {sample_rate / 1e6:g} MHz is below the occupied bandwidth of a '
                     f'{bandwidth_mhz} MHz LTE carrier')
  rmc, preset_modulation = RMC_PRESETS.get(int(bandwidth_mhz) if float(bandwidth_mhz).is_integer() else -1,
                                           (None, 'qpsk'))
  modulation = modulation or preset_modulation
  rng = np.random.default_rng(waveform_lib.seed_sequence(seed))
  num_samples = int(round(duration_s * sample_rate))
  num_subframes = int(np.ceil(duration_s * 1e3 - 1e-9))
  pdsch_rbs = draw_pdsch_allocation(rng, n_rb, num_subframes, load)
  grid = lte_grid(ncellid, n_rb, num_subframes, rng, cfi=cfi, phich_ng=phich_ng, pdsch_rbs=pdsch_rbs,
                  modulation=modulation)
  iq, numerology, ratio = waveform_lib.grid_to_samples(grid, ofdm.lte_numerology, sample_rate, num_samples)
  return waveform_lib.Waveform(
      iq=iq, sample_rate=sample_rate, bandwidth_hz=float(bandwidth_mhz) * 1e6, label='LTE',
      occupancy=waveform_lib.occupancy_cells(grid, numerology, ratio, num_samples),
      params={'standard': 'LTE', 'bandwidth_mhz': float(bandwidth_mhz), 'n_rb': n_rb, 'ncellid': ncellid,
              'rmc': rmc, 'modulation': modulation, 'load': load, 'cfi': cfi})
