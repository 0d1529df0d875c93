"""A minimal NR cell searcher: PSS timing and N_ID2 by correlation, then N_ID1 from the SSS.

Used to check generated waveforms end to end and to confirm the cells of real recordings.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from specsense_jax.signals import channel
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

# Subcarriers of PSS/SSS relative to the SS/PBCH block centre (its subcarrier 120).
_SYNC_SUBCARRIERS = np.arange(56, 183) - 120


def _symbol_at_rate(values: np.ndarray, fft_size: int) -> np.ndarray:
  spectrum = np.zeros(fft_size, np.complex64)
  spectrum[_SYNC_SUBCARRIERS % fft_size] = values
  return np.fft.ifft(spectrum).astype(np.complex64)


def detect_nr_cell(iq: np.ndarray, sample_rate: float, scs_khz: int, ssb_offset_hz: float,
                   cfo_search_hz=(0.0,)) -> dict:
  """Finds the strongest SS/PBCH block and decodes its physical cell identity.

  Args:
    iq: complex samples.
    sample_rate: samples per second; fs / SCS must be an integer FFT size.
    scs_khz: SS/PBCH block subcarrier spacing.
    ssb_offset_hz: SS/PBCH block centre relative to the recording centre.
    cfo_search_hz: residual frequency offsets to try (the best is kept).

  Returns:
    {'ncellid', 'n_id1', 'n_id2', 'pss_start' (first useful sample of the PSS symbol), 'pss_metric'
     (normalized correlation 0..1), 'sss_metric', 'cfo_hz'}.
  """
  numerology = ofdm.nr_numerology(scs_khz, sample_rate)
  n = numerology.fft_size
  cp = numerology.cp_lengths[1]
  iq = np.asarray(iq, np.complex64)
  if len(iq) < 4 * (n + cp):
    raise ValueError(f'need at least one SS/PBCH block ({4 * (n + cp)} samples), got {len(iq)}')
  replicas = [_symbol_at_rate(sequences.nr_pss(k), n) for k in range(3)]
  energy = np.convolve(np.abs(iq) ** 2, np.ones(n), mode='valid')
  best = None
  for cfo in cfo_search_hz:
    shifted = channel.frequency_shift(iq, -(ssb_offset_hz + cfo), sample_rate)
    for n_id2, replica in enumerate(replicas):
      corr = np.abs(scipy.signal.fftconvolve(shifted, np.conj(replica[::-1]), mode='valid')) ** 2
      metric = corr / (np.maximum(energy[:len(corr)], 1e-30) * np.sum(np.abs(replica) ** 2))
      start = int(np.argmax(metric))
      if best is None or metric[start] > best[0]:
        best = (float(metric[start]), n_id2, start, cfo, shifted)
  pss_metric, n_id2, pss_start, cfo, shifted = best
  sss_start = pss_start + 2 * (n + cp)
  if sss_start + n > len(iq):
    raise ValueError('the strongest PSS is too close to the end of the recording to read its SSS')

  def subcarriers(start):
    return np.fft.fft(shifted[start:start + n])[_SYNC_SUBCARRIERS % n]

  channel_estimate = subcarriers(pss_start) / sequences.nr_pss(n_id2)
  sss_rx = subcarriers(sss_start) * np.conj(channel_estimate)
  candidates = np.stack([sequences.nr_sss(3 * n_id1 + n_id2) for n_id1 in range(336)])
  scores = np.abs(candidates @ sss_rx) / (np.linalg.norm(sss_rx) * np.sqrt(127) + 1e-30)
  n_id1 = int(np.argmax(scores))
  return {'ncellid': 3 * n_id1 + n_id2, 'n_id1': n_id1, 'n_id2': n_id2, 'pss_start': pss_start,
          'pss_metric': pss_metric, 'sss_metric': float(scores[n_id1]), 'cfo_hz': cfo}
