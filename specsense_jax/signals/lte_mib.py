"""LTE MIB decoding from a recording (TS 36.211 §6.6, §6.10.1, §6.3.4.3): given a cell the searcher found, each
radio frame's PBCH is equalised from the cell-specific reference signals and decoded (`lte_pbch`).

Everything runs at 1.92 Msps on the 72 central subcarriers, as the cell search does. Per radio frame: the four
PBCH symbols (slot 1 of subframe 0) and the CRS around them are transformed; each port's channel comes from its
RS (least squares, interpolated linearly over frequency, and for ports 0/1 linearly in time between the RS in
the first PBCH symbol and the one after the PBCH); one, two and four ports are tried (the CRC mask tells which
is right), the transmit-diversity pairs combined by their channels, and the QPSK soft bits decoded.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from specsense_jax.signals import channel
from specsense_jax.signals import lte_crs
from specsense_jax.signals import lte_pbch
from specsense_jax.signals import lte_receiver

_PBCH_SYMBOLS = 4  # symbols 0..3 of slot 1 of subframe 0 (TS 36.211 §6.6.4)


@dataclasses.dataclass(frozen=True)
class DecodedMib:
  """A MIB decoded from one radio frame of a recording.

  Attributes:
    frame_start: input-rate sample where that radio frame starts (negative when the capture starts inside its
      first slot: its PBCH, in the second slot, is then inside the capture).
    mib: the decoded `lte_pbch.Mib` (its SFN is that frame's).
  """
  frame_start: int
  mib: lte_pbch.Mib


def pbch_mask(ncellid: int, cp: str) -> np.ndarray:
  """(4, 72) PBCH resource elements of the central 72 subcarriers in slot 1, symbols 0..3: those not reserved
  for the CRS of ports 0-3 (symbols 0 and 1, and 3 with extended CP; k mod 3 = N_ID mod 3)."""
  _check_cell(ncellid, cp)
  mask = np.ones((_PBCH_SYMBOLS, 72), bool)
  crs_symbols = (0, 1) if cp == 'normal' else (0, 1, 3)
  for l in crs_symbols:
    mask[l, np.arange(72) % 3 == ncellid % 3] = False
  return mask


def _check_cell(ncellid: int, cp: str) -> None:
  if cp not in lte_receiver.CP_LAYOUTS:
    raise ValueError(f"cp must be 'normal' or 'extended', got {cp!r}")
  if not 0 <= ncellid < 504:
    raise ValueError(f'ncellid must be in [0, 503], got {ncellid!r}')


def _grid(x: np.ndarray, frame_start: float, cp: str) -> np.ndarray | None:
  """(symbols 0..N_symb-3 of slot 1 of subframe 0, 72): the PBCH symbols and the CRS symbols around them, of the
  frame at `frame_start` (1.92 Msps samples), or None when they are not all inside `x`."""
  per_slot = len(lte_receiver.CP_LAYOUTS[cp])
  starts = np.array([frame_start + lte_receiver.useful_start(cp, 1, l) for l in range(per_slot - 2)])
  starts = np.round(starts).astype(np.int64) - lte_receiver.FFT_BACKOFF
  if starts[0] < 0 or starts[-1] + lte_receiver.FFT_SIZE > len(x):
    return None
  y = np.fft.fft(x[starts[:, None] + np.arange(lte_receiver.FFT_SIZE)], axis=-1)
  return y[:, lte_receiver.CENTRAL_BINS]


def _ls_estimate(grid: np.ndarray, ncellid: int, cp: str, port: int, ns: int, l: int) -> np.ndarray:
  """(72,) channel of `port` from its RS in symbol `l` of slot `ns` (= 1: the grid's slot), linear over
  frequency between RS (TS 36.211 §6.10.1.2, either CP; `lte.crs` covers the normal CP only)."""
  k = 6 * np.arange(12) + lte_crs.subcarrier_offset(ncellid, port, ns, l)
  rs = lte_receiver.crs_values(ncellid, np.array([ns]), l, cp)[0]
  h = grid[l, k] / rs
  grid_k = np.arange(72)
  return np.interp(grid_k, k, h.real) + 1j * np.interp(grid_k, k, h.imag)


def _channels(grid: np.ndarray, ncellid: int, cp: str, num_ports: int) -> np.ndarray:
  """(num_ports, 4, 72) channel of each port on the PBCH symbols: ports 0/1 from their RS in the first PBCH
  symbol and in symbol N_symb-3, linear in time between; ports 2/3 from their RS in the second PBCH symbol."""
  per_slot = len(lte_receiver.CP_LAYOUTS[cp])
  late = per_slot - 3  # the second RS symbol of ports 0/1
  out = np.zeros((num_ports, _PBCH_SYMBOLS, 72), np.complex128)
  for port in range(num_ports):
    if port < 2:
      before = _ls_estimate(grid, ncellid, cp, port, 1, 0)  # slot 1 symbol 0, the first PBCH symbol
      after = _ls_estimate(grid, ncellid, cp, port, 1, late)
      w = np.arange(_PBCH_SYMBOLS)[:, None] / late
      out[port] = (1 - w) * before + w * after
    else:
      out[port] = _ls_estimate(grid, ncellid, cp, port, 1, 1)
  return out


def pbch_soft_bits(grid: np.ndarray, ncellid: int, cp: str, num_ports: int) -> np.ndarray:
  """The E/4 soft bits (positive for 0) of one frame's PBCH from its subframe-0 grid, combined for `num_ports`
  transmit-diversity ports (maximum-ratio for one port, SFBC pairs otherwise)."""
  mask = pbch_mask(ncellid, cp)
  r = grid[:_PBCH_SYMBOLS][mask]  # RE order: subcarrier first, then symbol
  h = _channels(grid, ncellid, cp, num_ports)[:, mask]
  if num_ports == 1:
    d = np.conj(h[0]) * r
  else:
    d = np.zeros_like(r)
    pairs = [(0, 1)] if num_ports == 2 else [(0, 2), (1, 3)]
    for i in range(len(r) // 2):
      a, b = pairs[i % len(pairs)]
      ha, hb = (h[a, 2 * i] + h[a, 2 * i + 1]) / 2, (h[b, 2 * i] + h[b, 2 * i + 1]) / 2
      r0, r1 = r[2 * i], r[2 * i + 1]
      d[2 * i] = np.conj(ha) * r0 + hb * np.conj(r1)
      d[2 * i + 1] = np.conj(ha) * r1 - hb * np.conj(r0)
  soft = np.empty(2 * len(d))
  soft[0::2], soft[1::2] = d.real, d.imag
  return soft / (np.abs(soft).mean() + 1e-30)


def decode_mib(iq: np.ndarray, sample_rate: float, cell: lte_receiver.LteCell, *,
               centre_offset_hz: float = 0.0) -> list[DecodedMib]:
  """The MIB of every radio frame of `iq` whose PBCH decodes (CRC passes), earliest first.

  Args:
    iq: complex baseband samples holding the cell.
    sample_rate: samples per second (any rate the cell search accepts).
    cell: the cell, as `lte_receiver.detect_lte_cells` found it in `iq` (cell ID, CP, frame timing, CFO).
    centre_offset_hz: the carrier centre relative to the capture centre (as given to the search).
  Returns:
    One `DecodedMib` per decoded frame; consecutive frames' SFNs count up by one.
  """
  x = lte_receiver.to_search_rate(iq, sample_rate, centre_offset_hz)
  x = channel.frequency_shift(x, -cell.cfo_hz, lte_receiver.SEARCH_RATE)
  scale = sample_rate / lte_receiver.SEARCH_RATE
  start = cell.frame_start / scale
  frames = np.arange(-1, int(np.ceil((len(x) - start) / lte_receiver.FRAME_SAMPLES)) + 1)
  decoded = []
  for n in frames:
    frame_start = start + n * lte_receiver.FRAME_SAMPLES
    grid = _grid(x, frame_start, cell.cp)
    if grid is None:
      continue
    for num_ports in (1, 2, 4):
      mib = lte_pbch.decode_pbch_frame(pbch_soft_bits(grid, cell.ncellid, cell.cp, num_ports), cell.ncellid,
                                       cell.cp, num_ports=num_ports)
      if mib is not None:
        decoded.append(DecodedMib(int(round(frame_start * scale)), mib))
        break
  return decoded
