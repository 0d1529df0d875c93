"""802.11 subcarrier sets and training sequences, per format and bandwidth (IEEE 802.11-2020 clauses 17, 19, 21;
802.11ax-2021 clause 27).

Tone index k counts subcarriers from the channel centre: 312.5 kHz apart for the legacy, HT and VHT fields
(64 points per 20 MHz), 78.125 kHz apart for the HE fields after HE-STF (256 points per 20 MHz). A `ToneMap` is
one OFDM symbol layout: which tones carry data, which pilots, with what pilot pattern.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from specsense_jax.signals import wlan_he_ltf

FORMATS = ('non_ht', 'ht', 'vht', 'he_su')
# Channel widths each format can take (MHz); non-HT 40 is the non-HT duplicate PPDU (§17.3.2, §19.3.2).
BANDWIDTHS_MHZ = {'non_ht': (20, 40, 80), 'ht': (20, 40), 'vht': (20, 40, 80), 'he_su': (20, 40, 80)}

# §17.3.3 Equation 17-6: L-STF, k = -26..26 (times sqrt(13/6)).
_LSTF = np.array([0, 0, 1 + 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, -1 - 1j, 0, 0, 0,
                  1 + 1j, 0, 0, 0, 0, 0, 0, 0, -1 - 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, 1 + 1j, 0, 0, 0,
                  1 + 1j, 0, 0, 0, 1 + 1j, 0, 0]) * np.sqrt(13 / 6)
# §17.3.3 Equation 17-8: L-LTF, k = -26..26; §21.3.8.3.5: its halves are LTF_left and LTF_right.
_LTF_LEFT = (1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1)
_LTF_RIGHT = (1, -1, -1, 1, 1, -1, 1, -1, 1, -1, -1, -1, -1, -1, 1, 1, -1, -1, 1, -1, 1, -1, 1, 1, 1, 1)
_LLTF = np.array(_LTF_LEFT + (0,) + _LTF_RIGHT, np.float64)
# §19.3.9.4.6 (Equations 19-23, 19-24) and §21.3.8.3.5 (Equation 21-29): HT/VHT-LTF at 20/40/80 MHz.
_HTLTF20 = np.array((1, 1) + _LTF_LEFT + (0,) + _LTF_RIGHT + (-1, -1), np.float64)
_LTF_53 = _LTF_LEFT + (1,) + _LTF_RIGHT
_HTLTF40 = np.array(_LTF_53 + (-1, -1, -1, 1, 0, 0, 0, -1, 1, 1, -1) + _LTF_53, np.float64)
_VHTLTF80 = np.array(_LTF_53 + (-1, -1, -1, 1, 1, -1, 1, -1, 1, 1, -1) + _LTF_53
                     + (1, -1, 1, -1, 0, 0, 0, 1, -1, -1, 1) + _LTF_53
                     + (-1, -1, -1, 1, 1, -1, 1, -1, 1, 1, -1) + _LTF_53, np.float64)
# §19.3.11.10 Table 19-19 / §21.3.10.10 Equations 21-49..51: one spatial stream's pilot pattern Ψ, cycled one
# place per data symbol.
_PILOT_PATTERN = {4: (1, 1, 1, -1), 6: (1, 1, 1, -1, -1, 1), 8: (1, 1, 1, -1, -1, 1, 1, 1)}
# §27.3.11.9 Equation 27-23: the HE-STF's M sequence.
_HE_M = np.array((-1, -1, -1, 1, 1, 1, -1, 1, 1, 1, -1, 1, 1, -1, 1), np.float64)


@dataclasses.dataclass(frozen=True)
class ToneMap:
  """One OFDM symbol layout at 20·`subchannels` MHz.

  Attributes:
    fft_size: points at the native rate 20·subchannels MHz (64 or 256 per 20 MHz).
    data: tone indices of the data subcarriers, in the order coded bits fill them.
    pilots: tone indices of the pilots.
    pilot_pattern: Ψ, the pilots' values before cycling and polarity (len(pilots) values).
    cycle: whether Ψ moves one place per symbol (HT/VHT/HE data) or stays (legacy fields).
  """
  fft_size: int
  data: np.ndarray
  pilots: np.ndarray
  pilot_pattern: tuple[int, ...]
  cycle: bool

  @property
  def num_data(self) -> int:
    return len(self.data)

  def pilot_values(self, symbol: int) -> np.ndarray:
    """Ψ for data symbol `symbol` (cycled when the format cycles), before the polarity p_n."""
    pattern = np.array(self.pilot_pattern, np.float64)
    return np.roll(pattern, -symbol) if self.cycle else pattern


def _range(low: int, high: int, skip=()) -> np.ndarray:
  return np.array([k for k in range(low, high + 1) if k not in set(skip)], np.int64)


def subchannel_offsets(subchannels: int, tones_per_20: int) -> np.ndarray:
  """Tone offsets of the centres of the 20 MHz subchannels, lowest first."""
  return (np.arange(subchannels) - (subchannels - 1) / 2).astype(np.float64) * tones_per_20


def gamma(k: np.ndarray, subchannels: int, tones_per_20: int) -> np.ndarray:
  """§21.3.7.5 Equations 21-14/21-15 (and §27.3.10): the phase rotation of tone k: 40 MHz: 1 below the centre,
  j above; 80 MHz: 1 in the lowest 20 MHz, -1 above."""
  k = np.asarray(k)
  if subchannels == 1:
    return np.ones(k.shape, np.complex128)
  if subchannels == 2:
    return np.where(k < 0, 1, 1j).astype(np.complex128)
  if subchannels == 4:
    return np.where(k < -tones_per_20, 1, -1).astype(np.complex128)
  raise ValueError(f'subchannels must be 1, 2 or 4, got {subchannels}')


def duplicate(values: np.ndarray, subchannels: int, tones_per_20: int = 64) -> tuple[np.ndarray, np.ndarray]:
  """(tones, values) of a 20 MHz field (values at k = -K..K) repeated in every 20 MHz subchannel with γ."""
  half = (len(values) - 1) // 2
  base = np.arange(-half, half + 1)
  tones = np.concatenate([base + int(off) for off in subchannel_offsets(subchannels, tones_per_20)])
  vals = np.tile(np.asarray(values, np.complex128), subchannels)
  keep = vals != 0
  return tones[keep], (vals * gamma(tones, subchannels, tones_per_20))[keep]


def legacy_tonemap() -> ToneMap:
  """§17.3.5.10: 48 data tones of k = -26..26 without DC and the pilots ±7, ±21, which carry 1, 1, 1, -1."""
  return ToneMap(64, _range(-26, 26, (0, -21, -7, 7, 21)), np.array([-21, -7, 7, 21]), (1, 1, 1, -1), False)


def lstf(subchannels: int) -> tuple[np.ndarray, np.ndarray]:
  return duplicate(_LSTF, subchannels)


def lltf(subchannels: int) -> tuple[np.ndarray, np.ndarray]:
  return duplicate(_LLTF, subchannels)


@functools.lru_cache(maxsize=None)
def vht_tonemap(subchannels: int) -> ToneMap:
  """HT/VHT data symbols (§19.3.11.10, §21.3.10.10): 52, 108 or 234 data tones and 4, 6 or 8 pilots."""
  pilots = {1: (-21, -7, 7, 21), 2: (-53, -25, -11, 11, 25, 53), 4: (-103, -75, -39, -11, 11, 39, 75, 103)}
  edge, dc = {1: (28, (0,)), 2: (58, (-1, 0, 1)), 4: (122, (-1, 0, 1))}[subchannels]
  pilot = np.array(pilots[subchannels])
  return ToneMap(64 * subchannels, _range(-edge, edge, dc + tuple(pilot)), pilot, _PILOT_PATTERN[len(pilot)], True)


def vht_ltf(subchannels: int) -> tuple[np.ndarray, np.ndarray]:
  """HT-LTF (20/40) and VHT-LTF (20/40/80), with γ."""
  values = {1: _HTLTF20, 2: _HTLTF40, 4: _VHTLTF80}[subchannels]
  half = (len(values) - 1) // 2
  tones = np.arange(-half, half + 1)
  keep = values != 0
  return tones[keep], (values * gamma(tones, subchannels, 64))[keep]


def vht_stf(subchannels: int) -> tuple[np.ndarray, np.ndarray]:
  """HT-STF/VHT-STF: the L-STF in every 20 MHz subchannel, with γ (§19.3.9.4.5, §21.3.8.3.4)."""
  return lstf(subchannels)


def he_stf(subchannels: int) -> tuple[np.ndarray, np.ndarray]:
  """§27.3.11.9 Equations 27-23..27-25, HE SU PPDU: tones every 16 of the 256-point grid carry M·(1+j)/√2. The HE
  fields carry no γ (it rotates the pre-HE fields only, §27.3.10)."""
  m = _HE_M
  pattern = {1: m,  # HES_0 = 0 (set below)
             2: np.concatenate([m, [0], -m]),
             4: np.concatenate([m, [1], -m, [0], -m, [1], -m])}[subchannels]
  half = (len(pattern) - 1) // 2
  tones = 16 * np.arange(-half, half + 1)
  values = pattern * (1 + 1j) / np.sqrt(2)
  values[tones == 0] = 0
  keep = values != 0
  return tones[keep], values[keep]


# §27.3.12.13 Table 27-44 (HE SU, full-band RU): pilot tones of the 242-, 484- and 996-tone RUs; Ψ of eight values
# cycled one place per data symbol over all of them.
_HE_PILOTS = {1: (-116, -90, -48, -22, 22, 48, 90, 116),
              2: (-238, -212, -170, -144, -104, -78, -36, -10, 10, 36, 78, 104, 144, 170, 212, 238),
              4: (-468, -400, -334, -266, -220, -152, -86, -18, 18, 86, 152, 220, 266, 334, 400, 468)}
# §27.3.12.13 / Table 27-7: the RU edges and DC nulls of a full-band RU.
_HE_RU = {1: (122, (-1, 0, 1)), 2: (244, (-2, -1, 0, 1, 2)), 4: (500, (-2, -1, 0, 1, 2))}


@functools.lru_cache(maxsize=None)
def he_tonemap(subchannels: int) -> ToneMap:
  """HE SU data symbols on the full-band RU: 234, 468 or 980 data tones and 8, 16 or 16 pilots (256-point grid per
  20 MHz)."""
  pilots = np.array(_HE_PILOTS[subchannels])
  edge, dc = _HE_RU[subchannels]
  pattern = tuple(_PILOT_PATTERN[8][m % 8] for m in range(len(pilots)))
  return ToneMap(256 * subchannels, _range(-edge, edge, dc + tuple(pilots)), pilots, pattern, True)


def he_ltf(subchannels: int, ltf_size: int) -> tuple[np.ndarray, np.ndarray]:
  """§27.3.11.10: the 2x or 4x HE-LTF of the full band (tones of the 256-point grid per 20 MHz)."""
  if (ltf_size, 20 * subchannels) not in wlan_he_ltf.HE_LTF:
    raise ValueError(f'HE-LTF size must be 2 or 4 and subchannels 1, 2 or 4, got {ltf_size}, {subchannels}')
  text = ''.join(wlan_he_ltf.HE_LTF[(ltf_size, 20 * subchannels)])
  values = np.array([{'+': 1.0, '-': -1.0, '0': 0.0}[c] for c in text])
  half = (len(values) - 1) // 2
  tones = np.arange(-half, half + 1)
  keep = values != 0
  return tones[keep], values[keep]
