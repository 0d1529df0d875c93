"""802.11 OFDM packet detection in a recording: L-STF autocorrelation, L-LTF timing and channel estimate, L-SIG
decoding (IEEE 802.11-2020 §17.3.3-§17.3.4; the receiver of §17.3.10 in its textbook form).

Works on any 20 MHz channel of a recording at any rate: the channel is cut out and resampled to 20 MHz. Every
802.11 OFDM PPDU (non-HT, HT, VHT, HE) starts with the same legacy preamble, so one detector finds them all and
reads L-SIG's RATE and LENGTH: for HT/VHT/HE PPDUs these give the PPDU's duration (LENGTH mod 3 = 1 marks HE
SU). Used to verify the generator and to find WLAN in real recordings.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.signal

from specsense_jax.signals import polyphase
from specsense_jax.signals import wlan_coding
from specsense_jax.signals import wlan_fields

RATE = 20e6
_STF_LAG = 16          # the L-STF repeats every 0.8 µs
_STF_WINDOW = 48       # samples of the autocorrelation sum
_PLATEAU = 0.7         # normalized autocorrelation over the L-STF
_MIN_PLATEAU = 64      # samples the plateau must last: the L-STF's is 160 - 16 - 48, a 4 µs HT/VHT/HE-STF's 17


@dataclasses.dataclass(frozen=True)
class Detection:
  """One PPDU found.

  Attributes:
    start: first sample of its L-STF, at the recording's rate.
    rate_mbps: L-SIG RATE.
    length: L-SIG LENGTH.
    duration_us: the PPDU's duration L-SIG implies (non-HT: exact; HT/VHT/HE: TXTIME rounded to 4 µs).
    cfo_hz: carrier frequency offset estimated from the L-LTF.
    snr_db: L-LTF SNR estimate (the two LTF symbols' agreement).
  """
  start: int
  rate_mbps: int
  length: int
  duration_us: float
  cfo_hz: float
  snr_db: float


def _to_20mhz(iq: np.ndarray, sample_rate: float, offset_hz: float) -> tuple[np.ndarray, float]:
  """The 20 MHz channel at `offset_hz`, shifted to 0 Hz and resampled to 20 MHz; (samples, 20 MHz samples per
  input sample)."""
  n = np.arange(len(iq))
  shifted = np.asarray(iq, np.complex128) * np.exp(-2j * np.pi * offset_hz / sample_rate * n)
  ratio = polyphase.rate_ratio(RATE, sample_rate, max_term=None)
  return scipy.signal.resample_poly(shifted, ratio.numerator, ratio.denominator), float(ratio)


def _plateaus(x: np.ndarray) -> list[int]:
  """Rising edges of the L-STF autocorrelation plateau: candidate packet starts (20 MHz samples)."""
  prod = x[_STF_LAG:] * np.conj(x[:-_STF_LAG])
  kernel = np.ones(_STF_WINDOW)
  corr = np.abs(np.convolve(prod, kernel, 'valid'))
  power = np.convolve(np.abs(x[_STF_LAG:]) ** 2, kernel, 'valid')
  metric = corr / np.maximum(power, 1e-12 * max(power.max(), 1e-30))
  above = metric > _PLATEAU
  edges = np.flatnonzero(np.diff(above.astype(np.int8)) == 1) + 1
  if above[0]:
    edges = np.concatenate([[0], edges])
  starts = []
  for e in edges:
    run = np.argmin(above[e:]) if not above[e:].all() else len(above) - e
    if run >= _MIN_PLATEAU:
      starts.append(int(e))
  return starts


def _ltf_symbol() -> np.ndarray:
  tones, values = wlan_fields.lltf(1)
  spectrum = np.zeros(64, np.complex128)
  spectrum[tones % 64] = values
  return np.fft.ifft(spectrum)


def _decode_at(x: np.ndarray, coarse: int) -> tuple[int, int, int, float, float] | None:
  """(ltf_start, rate, length, cfo per sample (cycles), snr_db) for the packet whose L-STF begins near
  `coarse`, or None."""
  ref = _ltf_symbol()
  lo, hi = coarse + 100, coarse + 260  # the first LTF symbol starts 192 samples after the STF's start
  if hi + 64 + 64 + 80 > len(x):
    return None
  corr = np.abs(np.correlate(x[lo:hi + 64 + 64], ref, 'valid'))
  both = corr[:hi - lo] + corr[64:64 + hi - lo]  # the two LTF symbols, 64 apart
  first = lo + int(np.argmax(both))
  ltf1, ltf2 = x[first:first + 64], x[first + 64:first + 128]
  cfo = float(np.angle(np.sum(ltf2 * np.conj(ltf1)))) / (2 * np.pi * 64)
  n = np.arange(first, first + 208)
  seg = x[first:first + 208] * np.exp(-2j * np.pi * cfo * n)
  f1, f2 = np.fft.fft(seg[:64]), np.fft.fft(seg[64:128])
  tones, values = wlan_fields.lltf(1)
  channel = np.zeros(64, np.complex128)
  channel[tones % 64] = (f1 + f2)[tones % 64] / 2 / values
  noise = np.mean(np.abs(f1 - f2)[tones % 64] ** 2) / 2
  snr_db = 10 * math.log10(max(np.mean(np.abs(channel[tones % 64]) ** 2) / max(noise, 1e-30), 1e-30))
  sig = np.fft.fft(seg[128 + 16:128 + 80])
  data = wlan_fields.legacy_tonemap().data
  h = channel[data % 64]
  soft = -np.real(sig[data % 64] * np.conj(h))  # positive for bit 0 (BPSK 0 -> -1)
  soft = wlan_coding.deinterleave(soft, 16, 1)[0]
  parsed = wlan_coding.parse_lsig(wlan_coding.bcc_decode(soft, 24))
  if parsed is None:
    return None
  return first, parsed[0], parsed[1], cfo, snr_db


def lsig_duration_us(rate_mbps: int, length: int) -> float:
  """The PPDU duration L-SIG implies: 20 µs of legacy preamble and ⌈(16 + 8·LENGTH + 6) / N_DBPS⌉ symbols of
  4 µs at RATE (for HT/VHT/HE PPDUs, whose RATE is 6, their TXTIME to 4 µs)."""
  bits, rate = {6: (1, (1, 2)), 9: (1, (3, 4)), 12: (2, (1, 2)), 18: (2, (3, 4)), 24: (4, (1, 2)),
                36: (4, (3, 4)), 48: (6, (2, 3)), 54: (6, (3, 4))}[rate_mbps]
  ndbps = 48 * bits * rate[0] // rate[1]
  return 20.0 + 4.0 * math.ceil((16 + 8 * length + 6) / ndbps)


def detect_packets(iq: np.ndarray, sample_rate: float, offset_hz: float = 0.0) -> list[Detection]:
  """Every 802.11 OFDM PPDU whose L-SIG decodes in the 20 MHz channel at `offset_hz`.

  Args:
    iq: the recording.
    sample_rate: its rate (at least 20 MHz).
    offset_hz: centre of the 20 MHz channel to search, relative to the recording's centre (for a 40/80 MHz
      PPDU, any of its 20 MHz subchannels: the legacy preamble is duplicated in each).
  """
  if sample_rate < RATE:
    raise ValueError(f'sample_rate must be at least {RATE / 1e6:g} MHz to hold a 20 MHz channel, got '
                     f'{sample_rate / 1e6:g} MHz')
  x, per_input = _to_20mhz(iq, sample_rate, offset_hz)
  found, skip_until = [], -1
  for coarse in _plateaus(x):
    if coarse < skip_until:
      continue
    decoded = _decode_at(x, coarse)
    if decoded is None:
      continue
    ltf_start, rate, length, cfo, snr_db = decoded
    stf_start = ltf_start - 192
    duration = lsig_duration_us(rate, length)
    skip_until = stf_start + int(20 * 20)  # past this packet's preamble
    found.append(Detection(int(round(stf_start / per_input)), rate, length, duration, cfo * RATE, snr_db))
  return found
