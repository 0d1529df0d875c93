"""An LTE cell searcher (TS 36.211 §6.11, §6.10.1): duplex mode, cell identity, frame timing, frequency offset,
cyclic prefix and the number of CRS antenna ports, from PSS/SSS correlation on the central 72 subcarriers.

Everything runs at 1.92 Msps (FFT 128), where the 62 subcarriers of the PSS and SSS fit whatever the carrier
bandwidth: the input is shifted by the carrier's offset and resampled there first.

Steps: (1) PSS correlation over a grid of frequency offsets, the normalised metric averaged over the 5 ms
half-frames, gives N_ID2, the PSS timing and a coarse CFO; the Zadoff-Chu PSS confuses a CFO of k subcarriers
with a time shift, so the three strongest grid CFOs are all carried through the next steps and the best SSS
match decides; (2) the cyclic-prefix correlation refines the CFO (unambiguous to ±7.5 kHz, the coarse estimate
picks the multiple of 15 kHz); (3) each PSS occurrence gives a channel estimate that equalises the SSS one
symbol (FDD) or three symbols (TDD) earlier, with the normal or extended CP layout; the (duplex, CP) hypothesis
with the strongest SSS correlation wins, the SSS of subframe 0 or 5 (m0/m1 swapped, TS 36.211 §6.11.2.1)
fixes which half-frame is which, hence the frame start, and the SSS-to-PSS phase refines the CFO again;
(4) the CRS of ports 1 and 2/3 are detected by their known sequences on the central RBs (TS 36.211 §6.10.1).
Measured on generated cells through ETU fading at 0-20 dB SNR (20 ms): cell ID, duplex and frame start (within
the CP) right in every case, CFO within 70 Hz.
"""

from __future__ import annotations

import dataclasses
import fractions
import functools

import numpy as np
import scipy.fft
import scipy.signal

from specsense_jax.signals import channel
from specsense_jax.signals import lte_crs
from specsense_jax.signals import lte_tdd
from specsense_jax.signals import ofdm
from specsense_jax.signals import power_profile
from specsense_jax.signals import sequences

SEARCH_RATE = 1.92e6
FFT_SIZE = 128  # FFT size at 1.92 Msps (2048 T_s)
_SLOT = 960  # samples per 0.5 ms slot
_HALF_FRAME = 5 * 2 * _SLOT
FRAME_SAMPLES = 2 * _HALF_FRAME
# CP lengths of the symbols of a slot at 1.92 Msps (TS 36.211 Table 6.12-1: 160/144 T_s normal, 512 extended).
CP_LAYOUTS = {'normal': (10, 9, 9, 9, 9, 9, 9), 'extended': (32,) * 6}
# (slot, symbol of the slot) of the PSS and SSS in the first half-frame; negative symbols count from the end of
# the slot. Type 1 (FDD): PSS in the last symbol of slot 0, SSS in the one before (TS 36.211 §6.11.1.2, §6.11.2.2).
# Type 2 (TDD): PSS in the third symbol of subframe 1, SSS in the last symbol of subframe 0.
SYNC_POSITIONS = {'fdd': {'pss': (0, -1), 'sss': (0, -2)}, 'tdd': {'pss': (2, 2), 'sss': (1, -1)}}
# The 72 central subcarriers of any carrier in the 128 bins at 1.92 Msps; PSS/SSS use 5..66 (TS 36.211 §6.11).
CENTRAL_BINS = ofdm.subcarrier_bins(72, ofdm.lte_numerology(SEARCH_RATE))
_SYNC_BINS = CENTRAL_BINS[5:67]
_CP_SPAN = 6  # consecutive CP positions summed for the CFO estimate (a CP is 9 or 10 samples long)
FFT_BACKOFF = 2  # FFT windows start this many samples into the CP, so late paths stay inside it
_CRS_M_CENTRAL = np.arange(104, 116)  # TS 36.211 §6.10.1.2: m' = m + 110 - N_RB of the 12 central RS, any N_RB
# ±40 kHz: 20 ppm at 2 GHz (the real captures are 8 and 14 ppm off).
DEFAULT_CFO_SEARCH_HZ = tuple(np.arange(-40e3, 40e3 + 1, 2.5e3))
_CFO_CANDIDATES = 3


@dataclasses.dataclass(frozen=True)
class LteCell:
  """A detected LTE cell.

  Attributes:
    ncellid: physical cell identity 3·N_ID1 + N_ID2, 0..503.
    n_id1: SSS group 0..167.
    n_id2: PSS index 0..2.
    duplex: 'fdd' (frame structure type 1) or 'tdd' (type 2).
    cp: 'normal' or 'extended'.
    frame_start: input-rate sample where a radio frame (subframe 0) starts, in [0, 10 ms).
    cfo_hz: carrier frequency offset (beyond `centre_offset_hz`).
    pss_metric: |PSS correlation|^2 over (window energy · replica energy), averaged over the half-frames, 0..1.
    sss_metric: SSS correlation after PSS-based equalisation, normalised by Cauchy-Schwarz, 0..1.
    num_ports: 1, 2 or 4 CRS antenna ports (None when even port 0's RS is not seen: too little signal).
    crs_metrics: per port 0..3, how well its RS sequence matches the REs it would use, 0..1.
  """
  ncellid: int
  n_id1: int
  n_id2: int
  duplex: str
  cp: str
  frame_start: int
  cfo_hz: float
  pss_metric: float
  sss_metric: float
  num_ports: int | None
  crs_metrics: tuple[float, ...]


def useful_start(cp: str, slot: int, symbol: int) -> int:
  """1.92 Msps sample (from the frame start) where the useful part of `symbol` of `slot` begins."""
  cps = CP_LAYOUTS[cp]
  symbol %= len(cps)
  return slot * _SLOT + sum(cps[:symbol]) + FFT_SIZE * symbol + cps[symbol]


def to_search_rate(iq: np.ndarray, sample_rate: float, centre_offset_hz: float) -> np.ndarray:
  """The receiver's DC offset removed, the carrier centre moved to 0 Hz, resampled to exactly 1.92 Msps."""
  ratio = (fractions.Fraction(int(SEARCH_RATE)) / fractions.Fraction(sample_rate)).limit_denominator(1000)
  if abs(float(ratio) * sample_rate / SEARCH_RATE - 1) > 1e-6:
    raise ValueError(f'sample_rate={sample_rate!r}: no resampling ratio p/q (q <= 1000) reaches 1.92 Msps; use a '
                     'rate such as 1.92e6·q/p')
  x = np.asarray(iq, np.complex64)
  # A DC spur (strong in SDR captures) would pull the CP-based CFO estimate towards 0 mod 15 kHz.
  x = channel.frequency_shift(x - x.mean(), -centre_offset_hz, sample_rate)
  if ratio != 1:
    x = scipy.signal.resample_poly(x, ratio.numerator, ratio.denominator)
  return np.asarray(x, np.complex64)


@functools.lru_cache(maxsize=1)
def _pss_replicas() -> np.ndarray:
  """(3, 128) unit-energy time-domain PSS symbols (no CP) at 1.92 Msps (read-only: built once)."""
  spectrum = np.zeros((3, FFT_SIZE), np.complex64)
  spectrum[:, _SYNC_BINS] = np.stack([sequences.lte_pss(i) for i in range(3)])
  replicas = np.fft.ifft(spectrum, axis=1)
  replicas = (replicas / np.linalg.norm(replicas, axis=1, keepdims=True)).astype(np.complex64)
  replicas.flags.writeable = False
  return replicas


def _conj_replica_spectra(cfos_hz: tuple[float, ...], nfft: int) -> np.ndarray:
  """(len(cfos), 3, nfft) conj(FFT_nfft) of the PSS replicas shifted by each offset."""
  n = np.arange(FFT_SIZE)
  shifted = _pss_replicas()[None] * np.exp(2j * np.pi * np.asarray(cfos_hz)[:, None, None] * n / SEARCH_RATE)
  return np.conj(scipy.fft.fft(shifted, nfft, axis=-1))


# A raster prescreen correlates many candidates of one length at the same offsets: their replicas' spectra are
# made once (one entry: the prescreen's, a few tens of MB).
_prescreen_spectra = functools.lru_cache(maxsize=1)(_conj_replica_spectra)


def _window_energy(x: np.ndarray) -> np.ndarray:
  """Energy of every 128-sample window (len(x) - 127 values)."""
  c = np.concatenate([[0.0], np.cumsum(np.abs(x.astype(np.complex128)) ** 2)])
  return np.maximum(c[FFT_SIZE:] - c[:-FFT_SIZE], 1e-30)


def _pss_metrics(x: np.ndarray, cfos_hz, cached: bool = False) -> np.ndarray:
  """(len(cfos), 3, len(x) - 127) normalised PSS correlation of every window, per CFO and N_ID2 (`cached`: the
  replicas' spectra of all offsets kept for the next call of the same length, as a prescreen wants; else made one
  offset at a time)."""
  valid = len(x) - FFT_SIZE + 1
  nfft = scipy.fft.next_fast_len(len(x))
  # Narrowing to the central subcarriers keeps data and noise outside the PSS out of the normalisation.
  taps = scipy.signal.firwin(33, 560e3, fs=SEARCH_RATE).astype(np.float32)
  narrow = np.convolve(x, taps, mode='same').astype(np.complex64)
  spectrum = scipy.fft.fft(narrow, nfft)
  energy = _window_energy(narrow)
  out = np.empty((len(cfos_hz), 3, valid), np.float32)
  # a CFO f makes the PSS r[n]·exp(j2πfn/fs): correlate with that
  offsets = tuple(float(f) for f in np.atleast_1d(cfos_hz))
  kept = _prescreen_spectra(offsets, nfft) if cached else None
  for i, cfo in enumerate(offsets):
    replica_spectra = kept[i] if cached else _conj_replica_spectra((cfo,), nfft)[0]
    corr = scipy.fft.ifft(spectrum * replica_spectra, axis=1)[:, :valid]
    out[i] = np.abs(corr) ** 2 / energy[:valid]
  return out


def pss_peak(x: np.ndarray, cfos_hz) -> float:
  """The strongest normalised PSS correlation of `x` (1.92 Msps, centred on a candidate carrier), folded over
  5 ms half-frames, over the frequency offsets `cfos_hz` and N_ID2: 0..1, near 1 for a clean PSS."""
  return float(_fold(_pss_metrics(np.asarray(x, np.complex64), cfos_hz, cached=True)).max())


def _fold(metric: np.ndarray, period: int = _HALF_FRAME) -> np.ndarray:
  """Mean over periods of metric[..., t] at each t mod period (the PSS repeats every 5 ms)."""
  reps = -(-metric.shape[-1] // period)
  padded = np.zeros(metric.shape[:-1] + (reps * period,), np.float64)
  padded[..., :metric.shape[-1]] = metric
  counts = np.zeros(reps * period)
  counts[:metric.shape[-1]] = 1
  return padded.reshape(metric.shape[:-1] + (reps, period)).sum(-2) / counts.reshape(reps, period).sum(0)


def _cp_cfo(x: np.ndarray) -> float:
  """CFO in (-7.5, 7.5] kHz from the cyclic prefixes, without the timing: x[t]·conj(x[t+128]) summed at each
  position of the 0.5 ms slot peaks where the CPs are; those positions, weighted by their magnitude, give the
  phase -2π·f·128/fs."""
  prod = x[:-FFT_SIZE] * np.conj(x[FFT_SIZE:])
  n = len(prod) // _SLOT * _SLOT
  if n == 0:
    return 0.0
  per_position = prod[:n].reshape(-1, _SLOT).sum(0)
  smoothed = np.convolve(np.concatenate([per_position, per_position[:_CP_SPAN - 1]]), np.ones(_CP_SPAN), 'valid')
  strong = np.abs(smoothed) >= 0.5 * np.abs(smoothed).max()  # the CP positions; elsewhere data self-noise
  total = np.sum(smoothed[strong] * np.abs(smoothed[strong]))
  return float(-np.angle(total) * SEARCH_RATE / (2 * np.pi * FFT_SIZE))


@functools.lru_cache(maxsize=3)
def _sss_candidates(n_id2: int) -> np.ndarray:
  """(2, 168, 62) complex64: SSS of subframes 0 and 5 for every N_ID1."""
  return np.stack([np.stack([sequences.lte_sss(3 * n_id1 + n_id2, sf) for n_id1 in range(168)])
                   for sf in (0, 5)]).astype(np.complex64)


def _subcarriers(x: np.ndarray, starts: np.ndarray, bins: np.ndarray) -> np.ndarray:
  return np.fft.fft(x[starts[:, None] + np.arange(FFT_SIZE)], axis=1)[:, bins]


def _decode_sss(x: np.ndarray, pss_positions: np.ndarray, n_id2: int) -> dict:
  """Best (duplex, CP, N_ID1, half-frame parity) over the SSS hypotheses (see the module docstring), with its
  metric and the residual CFO the SSS-to-PSS phase shows."""
  candidates = _sss_candidates(n_id2)
  best = None
  for cp in CP_LAYOUTS:
    for duplex, where in SYNC_POSITIONS.items():
      distance = useful_start(cp, *where['pss']) - useful_start(cp, *where['sss'])
      index = np.flatnonzero((pss_positions - distance - FFT_BACKOFF >= 0)
                             & (pss_positions - FFT_BACKOFF + FFT_SIZE <= len(x)))
      if len(index) == 0:
        continue
      pos = pss_positions[index] - FFT_BACKOFF
      h = _subcarriers(x, pos, _SYNC_BINS) * np.conj(sequences.lte_pss(n_id2))  # channel · |PSS|^2
      y = _subcarriers(x, pos - distance, _SYNC_BINS)
      z = y * np.conj(h)  # equalised (matched) SSS, one row per occurrence
      norm = np.sqrt(np.sum(np.abs(y) ** 2) * np.sum(np.abs(h) ** 2)) + 1e-30
      # Occurrence i carries the SSS of subframe 0 when (i + parity) is even, else of subframe 5.
      even = (index % 2 == 0)
      totals = [candidates[0] @ z[sf0].sum(0) + candidates[1] @ z[~sf0].sum(0) for sf0 in (even, ~even)]
      scores = [np.real(total) / norm for total in totals]
      parity = int(scores[1].max() > scores[0].max())
      n_id1 = int(np.argmax(scores[parity]))
      metric = float(max(scores[parity][n_id1], 0.0))
      if best is None or metric > best['sss_metric']:
        # The SSS lags the PSS phase by 2π·f·distance/fs for a residual offset f: a finer CFO estimate.
        residual = -np.angle(totals[parity][n_id1]) * SEARCH_RATE / (2 * np.pi * distance)
        best = dict(duplex=duplex, cp=cp, n_id1=n_id1, parity=parity, sss_metric=metric, cfo_residual=residual)
  if best is None:
    raise ValueError('iq: no PSS occurrence has its SSS inside the capture; give at least 6 ms')
  return best


def crs_values(ncellid: int, ns: np.ndarray, l: int, cp: str) -> np.ndarray:
  """(len(ns), 12) RS sequence r_{l,ns}(m') of the 12 central RS positions (TS 36.211 §6.10.1.1)."""
  return lte_crs.sequence(ncellid, ns, l, cp)[:, _CRS_M_CENTRAL]


def _crs_metrics(x: np.ndarray, frame_start: float, ncellid: int, cp: str, duplex: str) -> tuple[float, ...]:
  """Per antenna port 0..3: how well its RS sequence matches the REs it would occupy, 0..1.

  With z_j = Y(k_j)·conj(r(j)) on the port's 12 central RS positions, u_j = z_j / sqrt(|z_j|^2 + floor) and the
  metric |Σ u_{j+1}·conj(u_j)| / pairs: where the port's RS is sent, neighbouring RS (6 subcarriers apart) see
  nearly the same channel and the terms add coherently (near 1 at high SNR); data, noise or nothing there gives
  about 1/sqrt(pairs). Each RE counts once whatever its power (a few loud data REs cannot dominate), and the
  floor (-20 dB of the slot's port-0 RS power) keeps empty REs' tiny filter leakage from counting as a match.
  TS 36.211 §6.10.1.2: ports 0/1 in symbols 0 and N_symb - 3, ports 2/3 in symbol 1 (`lte_crs`).
  """
  per_slot = len(CP_LAYOUTS[cp])
  # Slots whose first symbols are downlink in every configuration: all (FDD); in TDD subframes 0 and 5 and the
  # first two symbols of the DwPTS of subframes 1 and 6 (at least 3 symbols long, Table 4.2-1).
  slots = np.arange(20) if duplex == 'fdd' else np.array([0, 1, 2, 10, 11, 12])
  symbols = (0, 1, per_slot - 3)
  frames = np.arange(-1, int(np.ceil((len(x) - frame_start) / FRAME_SAMPLES)) + 1)
  ns = np.broadcast_to(slots, (len(frames), len(slots))).reshape(-1)
  starts = frame_start + np.repeat(frames, len(slots))[:, None] * FRAME_SAMPLES + np.array(
      [[useful_start(cp, n, l) for l in symbols] for n in ns])
  starts = np.round(starts).astype(np.int64) - FFT_BACKOFF
  ok = np.all((starts >= 0) & (starts + FFT_SIZE <= len(x)), axis=1)
  ns, starts = ns[ok], starts[ok]
  if len(ns) == 0:
    return (0.0,) * 4
  y = np.fft.fft(x[starts[..., None] + np.arange(FFT_SIZE)], axis=-1)[..., CENTRAL_BINS]  # (slot, symbol, 72)
  k0 = 6 * np.arange(12) + ncellid % 6
  floor = 0.01 * np.mean(np.abs(y[:, 0, k0]) ** 2, axis=1, keepdims=True) + 1e-30
  coherent, pairs = np.zeros(4, np.complex128), np.zeros(4)
  for port, i in ((0, 0), (0, 2), (1, 0), (1, 2), (2, 1), (3, 1)):  # (port, index into `symbols`) holding its RS
    use = np.ones(len(ns), bool) if symbols[i] < 3 or duplex == 'fdd' else ns % 10 != 2  # DwPTS may be 3 long
    k = 6 * np.arange(12)[None, :] + lte_crs.subcarrier_offset(ncellid, port, ns[use], symbols[i])[:, None]
    z = np.take_along_axis(y[use, i], k, axis=1) * np.conj(crs_values(ncellid, ns[use], symbols[i], cp))
    u = z / np.sqrt(np.abs(z) ** 2 + floor[use])
    coherent[port] += np.sum(u[:, 1:] * np.conj(u[:, :-1]))
    pairs[port] += u[:, 1:].size
  return tuple(float(abs(c) / n) if n else 0.0 for c, n in zip(coherent, pairs))


def _num_ports(metrics: tuple[float, ...]) -> int | None:
  """1, 2 or 4 from the CRS metrics: a port counts when its RS match is at least half that of the stronger of
  ports 0 and 1 (the ports see different channels); None when neither is seen (too little signal)."""
  reference = max(metrics[0], metrics[1])
  if metrics[0] < 0.2:
    return None
  present = [m >= 0.5 * reference for m in metrics]
  if present[1] and present[2] and present[3]:
    return 4
  return 2 if present[1] else 1


def _cell_at(x: np.ndarray, metric: np.ndarray, tau: int, n_id2: int, scale: float, cfo: float) -> dict:
  """Decodes the cell whose folded PSS peak is at `tau` (mod 5 ms) in `x`, already shifted by -`cfo`."""
  folded = _fold(metric)
  # Parabolic interpolation of the folded peak: sub-sample timing at 1.92 Msps.
  a, b, c = folded[(tau - 1) % _HALF_FRAME], folded[tau], folded[(tau + 1) % _HALF_FRAME]
  frac = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
  occurrences = tau + _HALF_FRAME * np.arange(-(-(len(metric) - tau) // _HALF_FRAME))
  # Each occurrence's own peak within ±3 samples, so a sample-clock drift over long captures is followed.
  lo = np.maximum(occurrences - 3, 0)
  windows = np.minimum(lo[:, None] + np.arange(7), len(metric) - 1)
  positions = windows[np.arange(len(occurrences)), np.argmax(metric[windows], axis=1)]
  sss = _decode_sss(x, positions, n_id2)
  ncellid = 3 * sss['n_id1'] + n_id2
  pss_offset = useful_start(sss['cp'], *SYNC_POSITIONS[sss['duplex']]['pss'])
  frame_start = (tau + frac + _HALF_FRAME * sss['parity'] - pss_offset) % FRAME_SAMPLES
  crs = _crs_metrics(x, frame_start, ncellid, sss['cp'], sss['duplex'])
  return dict(ncellid=ncellid, n_id1=sss['n_id1'], n_id2=n_id2, duplex=sss['duplex'], cp=sss['cp'],
              frame_start=int(round(frame_start * scale)) % int(round(FRAME_SAMPLES * scale)),
              cfo_hz=float(cfo + sss['cfo_residual']), pss_metric=float(b), sss_metric=sss['sss_metric'],
              num_ports=_num_ports(crs), crs_metrics=crs)


def detect_lte_cells(iq: np.ndarray, sample_rate: float, *, centre_offset_hz: float = 0.0,
                     cfo_search_hz=DEFAULT_CFO_SEARCH_HZ, max_cells: int = 3) -> list[LteCell]:
  """Finds up to `max_cells` LTE cells, strongest PSS first.

  Args:
    iq: complex baseband samples (at least 6 ms; 10 ms or more to see both SSS).
    sample_rate: samples per second, at least 1.08 MHz (the 72 central subcarriers); any rate p/q·1.92 MHz.
    centre_offset_hz: the carrier centre relative to the capture centre.
    cfo_search_hz: coarse frequency offsets tried for the PSS (2.5 kHz steps keep the PSS loss small; the
      default covers ±40 kHz); the cyclic prefix and the SSS then refine the estimate to tens of Hz.
    max_cells: how many cells to return at most (PSS peaks of distinct timing or N_ID2, with distinct IDs).

  Returns:
    `LteCell`s sorted by PSS metric; weak extra cells can be spurious: check their sss_metric.
  """
  if not np.isfinite(sample_rate) or sample_rate < 1.08e6:
    raise ValueError(f'sample_rate must be at least 1.08e6 (the 72 central subcarriers), got {sample_rate!r}')
  if abs(centre_offset_hz) + 0.54e6 > sample_rate / 2:
    raise ValueError(f'centre_offset_hz={centre_offset_hz!r}: the carrier centre ±540 kHz must lie inside '
                     f'±{sample_rate / 2:g} Hz')
  if isinstance(max_cells, bool) or not isinstance(max_cells, (int, np.integer)) or max_cells < 1:
    raise ValueError(f'max_cells must be a positive integer, got {max_cells!r}')
  cfos = np.atleast_1d(np.asarray(cfo_search_hz, np.float64))
  if len(cfos) == 0 or not np.all(np.isfinite(cfos)) or np.any(np.abs(cfos) > SEARCH_RATE / 4):
    raise ValueError(f'cfo_search_hz must be finite offsets within ±480 kHz, got {cfo_search_hz!r}')
  x = to_search_rate(iq, sample_rate, centre_offset_hz)
  if len(x) < _HALF_FRAME + 2 * _SLOT:
    raise ValueError(f'iq must hold at least 6 ms ({int(6e-3 * sample_rate)} samples), got {len(iq)}')
  scale = sample_rate / SEARCH_RATE
  # A frequency offset of 2 subcarriers looks to the PSS like a shift of about 10 samples (Zadoff-Chu
  # ambiguity), so the strongest CFOs of the grid are each refined and decoded; the best SSS match wins.
  peak = _fold(_pss_metrics(x, cfos)).max(axis=(1, 2))
  local_max = (peak >= np.r_[-1.0, peak[:-1]]) & (peak >= np.r_[peak[1:], -1.0])
  best = None
  for i in sorted(np.flatnonzero(local_max), key=lambda i: -peak[i])[:_CFO_CANDIDATES]:
    cfo = cfos[i] + _cp_cfo(channel.frequency_shift(x, -cfos[i], SEARCH_RATE))
    shifted = channel.frequency_shift(x, -cfo, SEARCH_RATE)
    metric = _pss_metrics(shifted, [0.0])[0]
    folded = _fold(metric)
    n_id2, tau = np.unravel_index(np.argmax(folded), folded.shape)
    cell = _cell_at(shifted, metric[n_id2], int(tau), int(n_id2), scale, cfo)
    if best is None or cell['sss_metric'] > best[0]['sss_metric']:
      best = (cell, cfo, shifted, metric, folded)
  _, cfo, x, metric, folded = best
  # Candidate peaks: the highest per N_ID2 after blanking ±8 samples around each one taken.
  peaks = []
  for n_id2 in range(3):
    f = folded[n_id2].copy()
    for _ in range(max_cells):
      tau = int(np.argmax(f))
      peaks.append((float(f[tau]), n_id2, tau))
      f[(tau + np.arange(-8, 9)) % _HALF_FRAME] = -1
  cells = []
  for _, n_id2, tau in sorted(peaks, reverse=True):
    cell = _cell_at(x, metric[n_id2], tau, n_id2, scale, cfo)
    if all(c.ncellid != cell['ncellid'] for c in cells):
      cells.append(LteCell(**cell))
    if len(cells) == max_cells:
      break
  return cells


def detect_lte_cell(iq: np.ndarray, sample_rate: float, *, centre_offset_hz: float = 0.0,
                    cfo_search_hz=DEFAULT_CFO_SEARCH_HZ) -> LteCell:
  """The strongest LTE cell of `iq`: `detect_lte_cells(..., max_cells=1)[0]`; same arguments."""
  return detect_lte_cells(iq, sample_rate, centre_offset_hz=centre_offset_hz, cfo_search_hz=cfo_search_hz,
                          max_cells=1)[0]


# --- TDD uplink-downlink configuration from the subframe energy ------------------------------------------------

def tdd_subframe_energy(iq: np.ndarray, sample_rate: float, frame_start: int) -> np.ndarray:
  """Median power of each subframe number 0..9 over the complete subframes of the capture (DC offset removed).

  Args:
    iq: complex samples.
    sample_rate: samples per second.
    frame_start: a sample where subframe 0 starts (e.g. `LteCell.frame_start`).

  Returns:
    (10,) float64 mean |iq|^2 of subframes 0..9, the median over frames (robust to bursts).
  """
  sample_rate = float(sample_rate)
  if not np.isfinite(sample_rate) or sample_rate <= 0:
    raise ValueError(f'sample_rate must be positive, got {sample_rate!r}')
  iq = np.asarray(iq, np.complex64)
  per_subframe = int(round(sample_rate * 1e-3))
  start = int(frame_start) % per_subframe
  if len(iq) < start + 10 * per_subframe:
    raise ValueError(f'iq must cover every subframe number at least once (10 ms from frame_start), got '
                     f'{len(iq) / sample_rate * 1e3:.2f} ms')
  # without the receiver's DC offset, which fills the uplink gaps
  envelope = power_profile.subframe_envelope(iq - iq.mean(), sample_rate, start=start)
  numbers = (np.arange(len(envelope)) + (start - int(frame_start)) // per_subframe) % 10
  return np.array([np.median(envelope[numbers == n]) for n in range(10)])


def guess_ul_dl_config(subframe_power: np.ndarray) -> tuple[int, float]:
  """The TDD uplink-downlink configuration (TS 36.211 Table 4.2-2) whose downlink subframes are all louder than
  its uplink subframes by the widest margin; special subframes are left out (their DwPTS is partial).

  Args:
    subframe_power: (10,) power per subframe number, e.g. from `tdd_subframe_energy`.

  Returns:
    (ul_dl_config, margin in dB: quietest downlink over loudest uplink subframe; negative = no clean fit).
  """
  power = np.asarray(subframe_power, np.float64)
  if power.shape != (10,) or np.any(~np.isfinite(power)) or np.any(power < 0):
    raise ValueError(f'subframe_power must be 10 finite non-negative powers, got {subframe_power!r}')
  level = 10 * np.log10(np.maximum(power, 1e-30))
  margins = {}
  for config in lte_tdd.UL_DL_CONFIGS:
    kinds = np.array(list(lte_tdd.subframe_types(config)))
    margins[config] = float(level[kinds == 'D'].min() - level[kinds == 'U'].max())
  best = max(margins, key=margins.get)
  return best, margins[best]


# Start of each normal-CP symbol of a subframe in T_s (TS 36.211 §6.12: 160 + 2048 for symbols 0 and 7, 144 + 2048
# otherwise; a subframe is 30720 T_s).
_SYMBOL_START_TS = np.concatenate([[0], np.cumsum([2208 if l % 7 == 0 else 2192 for l in range(13)])])
_CRS_SYMBOLS = (4, 7, 11)  # CRS symbols of ports 0/1 after the PSS symbol (TS 36.211 §6.10.1.2, normal CP)


def guess_dwpts_symbols(iq: np.ndarray, sample_rate: float, frame_start: int) -> tuple[int, tuple[int, ...]]:
  """The DwPTS length of a TDD cell from the symbol power of subframe 1, and the special subframe
  configurations (TS 36.211 Table 4.2-1, normal CP) consistent with it.

  A symbol counts as downlink when its power (median over frames) is nearer, in dB, to that of symbols 0 and 2
  (control and PSS, always in the DwPTS) than to the power of subframe 2 (always uplink). Only symbols 0..11 are
  looked at (the UpPTS may carry uplink energy in 12 and 13). A DwPTS symbol without PDSCH looks empty unless it
  holds CRS (symbols 4, 7, 11 for ports 0/1, TS 36.211 §6.10.1.2), so the DwPTS is at least as long as the last
  bright symbol and ends before the first dark CRS symbol. The UpPTS length (configurations 0-4 against 5-9)
  does not show in downlink power.

  Args:
    iq: complex samples.
    sample_rate: samples per second.
    frame_start: a sample where subframe 0 starts (e.g. `LteCell.frame_start`).

  Returns:
    (DwPTS symbols seen, the special subframe configurations whose DwPTS fits).
  """
  per_ts = float(sample_rate) / 30.72e6
  if not np.isfinite(per_ts) or per_ts <= 0:
    raise ValueError(f'sample_rate must be positive, got {sample_rate!r}')
  iq = np.asarray(iq, np.complex64)
  power = np.abs(iq - iq.mean()) ** 2
  frame = 307200 * per_ts
  useful = int(round(2048 * per_ts))
  first = -int(np.floor(frame_start / frame))
  frames = np.arange(first, int(np.floor((len(iq) - frame_start) / frame)))
  starts = frame_start + frames[:, None, None] * frame + (np.array([1, 2])[:, None] * 30720 + _SYMBOL_START_TS
                                                          + np.where(np.arange(14) % 7 == 0, 160, 144)) * per_ts
  starts = np.round(starts).astype(np.int64)  # (frame, subframe 1 or 2, symbol): the useful part of each symbol
  whole = np.all((starts >= 0) & (starts + useful <= len(iq)), axis=(1, 2))
  if not whole.any():
    raise ValueError(f'iq must hold subframes 1 and 2 of a whole frame after frame_start={frame_start}')
  c = np.concatenate([[0.0], np.cumsum(power, dtype=np.float64)])
  level = np.median((c[starts[whole] + useful] - c[starts[whole]]) / useful, axis=0)  # (2, 14)
  on, off = np.log(np.median(level[0, [0, 2]])), np.log(np.median(level[1]) + 1e-30)
  downlink = np.log(level[0, :12] + 1e-30) > (on + off) / 2
  count = int(np.flatnonzero(downlink).max()) + 1 if downlink.any() else 0
  longest = min([l for l in _CRS_SYMBOLS if not downlink[l]], default=12)
  return count, tuple(config for config in lte_tdd.SPECIAL_SUBFRAME_CONFIGS_TS
                      if count <= lte_tdd.dwpts_symbols(config) <= longest)
