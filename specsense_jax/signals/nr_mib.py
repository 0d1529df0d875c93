"""NR MIB decoding from a recording (TS 38.211 §7.4.1.4, §7.4.3.1): the four OFDM symbols of an SS/PBCH block,
its PBCH DMRS correlated against every ī_SSB (SSB index LSBs and half frame), a channel estimate from the DMRS,
equalised QPSK soft bits, and `nr_pbch.decode_pbch`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from specsense_jax.signals import channel
from specsense_jax.signals import nr
from specsense_jax.signals import nr_pbch
from specsense_jax.signals import ofdm


@dataclasses.dataclass(frozen=True)
class DecodedSsb:
  """An SS/PBCH block's PBCH, decoded.

  Attributes:
    pss_start: input-rate sample where the useful part of its PSS symbol starts.
    ssb_index: candidate index (its 3 LSBs from the DMRS; with L_max = 4 the half frame is in the DMRS too).
    dmrs_metric: normalised DMRS correlation of the chosen ī_SSB, 0..1.
    mib: the decoded MIB and timing bits.
  """
  pss_start: int
  ssb_index: int
  dmrs_metric: float
  mib: nr_pbch.NrMib


def _block(iq: np.ndarray, sample_rate: float, scs_khz: int, ssb_offset_hz: float, pss_start: int) -> np.ndarray:
  """(4, 240) subcarriers of the SS/PBCH block whose PSS useful part starts at `pss_start`; its symbols have the
  normal CP (no SSB candidate holds a 0.5 ms boundary's longer symbol)."""
  numerology = ofdm.nr_numerology(scs_khz, sample_rate)
  n, cp = numerology.fft_size, numerology.cp_lengths[1]
  starts = pss_start + np.arange(4) * (n + cp)
  if starts[-1] + n > len(iq) or pss_start < 0:
    raise ValueError(f'pss_start={pss_start}: the block is not inside the recording')
  # each symbol's constant phase from where the shift starts is absorbed by its own DMRS channel estimate
  segment = channel.frequency_shift(iq[starts[0]:starts[-1] + n], -ssb_offset_hz, sample_rate)
  spectra = np.fft.fft(segment[(starts - starts[0])[:, None] + np.arange(n)], axis=1)
  return spectra[:, (np.arange(240) - 120) % n]


def decode_ssb(iq: np.ndarray, sample_rate: float, *, ncellid: int, scs_khz: int, ssb_offset_hz: float,
               pss_start: int) -> DecodedSsb | None:
  """Decodes the PBCH of the SS/PBCH block at `pss_start` (e.g. `nr_receiver.detect_nr_cell`'s), centred at
  `ssb_offset_hz` from the capture centre (add a measured frequency offset to it when there is one); None when no
  DMRS hypothesis gives a passing CRC."""
  block = _block(np.asarray(iq, np.complex64), sample_rate, scs_khz, ssb_offset_hz, pss_start)
  pbch_mask, dmrs_mask = nr.pbch_masks(ncellid % 4)
  received = block[dmrs_mask]
  hypotheses = []
  for i_bar in range(8):  # ī_SSB: the index's 3 LSBs (L_max = 8), or 2 LSBs and the half frame (L_max = 4)
    reference = nr.pbch_dmrs(ncellid, i_bar, 8)
    metric = abs(np.vdot(reference, received)) / (np.linalg.norm(received) * np.sqrt(len(reference)) + 1e-30)
    hypotheses.append((metric, i_bar, reference))
  hypotheses.sort(key=lambda h: -h[0])
  rows, cols = np.nonzero(dmrs_mask)
  for metric, i_bar, reference in hypotheses[:2]:
    estimate = np.zeros((4, 240), np.complex128)
    for l in (1, 2, 3):
      k = cols[rows == l]
      h = received[rows == l] / reference[rows == l]
      estimate[l] = np.interp(np.arange(240), k, h.real) + 1j * np.interp(np.arange(240), k, h.imag)
    z = np.conj(estimate[pbch_mask]) * block[pbch_mask]
    soft = np.empty(2 * len(z))
    soft[0::2], soft[1::2] = z.real, z.imag
    soft /= np.abs(soft).mean() + 1e-30
    for l_max in (8, 4):
      mib = nr_pbch.decode_pbch(soft, ncellid, i_bar, l_max)
      if mib is not None:
        return DecodedSsb(int(pss_start), i_bar % l_max, float(metric), mib)
  return None
