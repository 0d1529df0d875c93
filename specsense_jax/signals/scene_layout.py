"""Where the carriers of a scene sit: several per standard on their channel rasters, contiguous or not, one of
them possibly cut by the frame edge, and the free spectrum left for interferers.

Carriers of one standard keep their centre differences on that standard's raster: LTE on the 100 kHz raster
(TS 36.104 §5.7.2), NR on the channel raster of each carrier's band (`scene_config.NR_BANDS`, TS 38.104
§5.4.2.3: 100, 30 or 15 kHz), so NR centre differences are multiples of the least common multiple of the rasters
involved. Adjacent carriers are the nominal channel spacing (BW1 + BW2)/2 apart (TS 36.104 §5.7.1, TS 38.104
§5.4.1), rounded up to that raster so that nominal channels never overlap; non-contiguous ones a drawn whole
number of raster steps more. The standards' blocks take a random order and random gaps; carriers of different
standards never overlap.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import nr_raster
from specsense_jax.signals import ofdm

LTE_RASTER_HZ = 100_000  # TS 36.104 §5.7.2: E-UTRA channel raster


@functools.lru_cache(maxsize=None)
def nr_raster_hz(band: str, scs_khz: int) -> int:
  """Channel raster step (Hz) of an NR band for a carrier SCS (TS 38.104 Table 5.4.2.3-1)."""
  arfcns = nr_raster.channel_raster(band, scs_khz)[:2]
  return int(round(float(nr_raster.arfcn_to_hz(int(arfcns[1])) - nr_raster.arfcn_to_hz(int(arfcns[0])))))


def nominal_spacing_hz(bandwidth1_hz: float, bandwidth2_hz: float, raster_hz: int) -> float:
  """(BW1 + BW2)/2 rounded up to a multiple of `raster_hz` (exact for LTE's 100 kHz raster)."""
  half = (bandwidth1_hz + bandwidth2_hz) / 2
  return float(raster_hz * math.ceil(half / raster_hz - 1e-9))


@dataclasses.dataclass(frozen=True)
class Layout:
  """Placement of a scene's carriers.

  Attributes:
    centres_hz: centre of each carrier of the input list that was kept (relative to the frame centre).
    kept: indices (into the input list) of the carriers kept, in input order; the others did not fit.
    contiguous: for each pair of neighbouring carriers of one standard, in frequency order: (standard,
      lower carrier index, upper carrier index, whether adjacent at the nominal spacing).
    cut: None, or (carrier index, 'low' or 'high', fraction of its band outside the frame).
  """
  centres_hz: dict[int, float]
  kept: tuple[int, ...]
  contiguous: tuple[tuple[str, int, int, bool], ...]
  cut: tuple[int, str, float] | None


def _block_order(labels: list[str], kept: list[int], order: list[str]) -> list[list[int]]:
  return [[i for i in kept if labels[i] == label] for label in order if any(labels[i] == label for i in kept)]


def place_carriers(rng: np.random.Generator, labels: list[str], bandwidths_hz: list[float], rasters_hz: list[int],
                   sample_rate: float, contiguous_share: float, edge_cut_share: float,
                   edge_cut_fraction: tuple[float, float], keep_first: int) -> Layout:
  """Draws the placement of carriers (nominal bands) inside the frame.

  Args:
    rng: the frame's layout generator.
    labels: 'NR' or 'LTE' per carrier; carriers of one label form one block, in list order.
    bandwidths_hz: nominal channel bandwidth per carrier.
    rasters_hz: channel raster step per carrier; a block uses the least common multiple of its carriers'.
    sample_rate: frame bandwidth; every kept carrier's band lies inside ±sample_rate/2 except a cut one.
    contiguous_share: probability that two neighbouring carriers of a block are adjacent.
    edge_cut_share: probability that the outermost carrier at a drawn edge is cut by it.
    edge_cut_fraction: (min, max) fraction of the cut carrier's band outside the frame.
    keep_first: the first `keep_first` carriers are always kept (they fit together by construction); later ones
      are dropped from the end of the longest block until the rest fit.

  Returns:
    A `Layout`.
  """
  order = sorted(set(labels), key=labels.index)
  order = [order[i] for i in rng.permutation(len(order))]
  kept = list(range(len(labels)))
  adjacent = {i: bool(rng.random() < contiguous_share) for i in kept}  # carrier i adjacent to its predecessor
  cut_edge = None
  if edge_cut_share and rng.random() < edge_cut_share:
    cut_edge = 'low' if rng.random() < 0.5 else 'high'
    cut_fraction = float(rng.uniform(*edge_cut_fraction))

  def block_raster(block):
    return functools.reduce(math.lcm, [int(rasters_hz[i]) for i in block])

  def minimum_span(blocks):
    span = 0.0
    for block in blocks:
      raster = block_raster(block)
      span += bandwidths_hz[block[0]] / 2 + bandwidths_hz[block[-1]] / 2
      span += sum(nominal_spacing_hz(bandwidths_hz[a], bandwidths_hz[b], raster) for a, b in zip(block, block[1:]))
    return span

  while True:
    blocks = _block_order(labels, kept, order)
    cut = None
    if cut_edge is not None:
      outer = blocks[0][0] if cut_edge == 'low' else blocks[-1][-1]
      cut = (outer, cut_edge, cut_fraction)
    room = sample_rate + (cut_fraction * bandwidths_hz[cut[0]] if cut else 0.0)
    if minimum_span(blocks) <= room + 1e-6 or len(kept) <= keep_first:
      break
    longest = max(blocks, key=len)  # drop the last carrier of the longest block (never one of the first)
    droppable = [i for i in longest if i >= keep_first] or [i for i in kept if i >= keep_first]
    kept.remove(max(droppable))
  free = max(0.0, room - minimum_span(blocks))
  # Free spectrum is shared out between the non-contiguous gaps inside blocks, the gaps between blocks and the
  # margins at the frame edges (none at a cut edge), by a uniform split of the free width.
  slots = [('gap', i) for block in blocks for i in block[1:] if not adjacent[i]]
  slots += [('between', k) for k in range(len(blocks) - 1)]
  slots += [('margin', edge) for edge in ('low', 'high') if cut is None or cut[1] != edge]
  shares = np.diff(np.concatenate([[0.0], np.sort(rng.random(max(len(slots) - 1, 0))), [1.0]])) * free
  share = dict(zip(slots, shares.tolist()))
  centres, pairs = {}, []
  if cut is not None and cut[1] == 'low':
    edge = -sample_rate / 2 - cut[2] * bandwidths_hz[cut[0]]
  else:
    edge = -sample_rate / 2 + share.get(('margin', 'low'), 0.0)
  for k, block in enumerate(blocks):
    raster = block_raster(block)
    centre = edge + bandwidths_hz[block[0]] / 2
    centres[block[0]] = centre
    for a, b in zip(block, block[1:]):
      gap = 0.0 if adjacent[b] else raster * math.floor(share[('gap', b)] / raster)
      centre += nominal_spacing_hz(bandwidths_hz[a], bandwidths_hz[b], raster) + gap
      centres[b] = centre
      pairs.append((labels[a], a, b, adjacent[b] or gap == 0))
    edge = centre + bandwidths_hz[block[-1]] / 2 + share.get(('between', k), 0.0)
  if cut is not None and cut[1] == 'high':  # shift everything so the cut carrier's upper edge is where drawn
    last = blocks[-1][-1]
    shift = sample_rate / 2 + cut[2] * bandwidths_hz[last] - (centres[last] + bandwidths_hz[last] / 2)
    centres = {i: c + shift for i, c in centres.items()}
  return Layout({i: float(centres[i]) for i in kept}, tuple(kept), tuple(pairs), cut)


def free_intervals(occupied: list[tuple[float, float]], sample_rate: float) -> list[tuple[float, float]]:
  """The parts of [-sample_rate/2, sample_rate/2] outside every (low, high) band of `occupied`."""
  out, edge = [], -sample_rate / 2
  for low, high in sorted(occupied):
    if low > edge:
      out.append((edge, min(low, sample_rate / 2)))
    edge = max(edge, high)
  if edge < sample_rate / 2:
    out.append((edge, sample_rate / 2))
  return [(a, b) for a, b in out if b > a]


def draw_free_centre(rng: np.random.Generator, free: list[tuple[float, float]], width_hz: float) -> float | None:
  """A centre drawn uniformly among the positions where a band of `width_hz` fits in one free interval; None if
  it fits nowhere."""
  room = np.array([max(0.0, b - a - width_hz) for a, b in free])
  fits = np.array([b - a >= width_hz for a, b in free])
  if not fits.any():
    return None
  if room.sum() <= 0:
    k = int(np.flatnonzero(fits)[0])
    return free[k][0] + width_hz / 2
  k = int(rng.choice(len(free), p=room / room.sum()))
  return float(free[k][0] + width_hz / 2 + rng.random() * room[k])


class EdgeCutRows:
  """Grid rows (a `GridSource.rows` builder) without the subcarriers outside the frame: a carrier cut by the frame
  edge sends nothing there, so nothing folds back from beyond ±sample_rate/2."""

  def __init__(self, rows, keep: np.ndarray):
    self.rows, self.keep = rows, keep

  def __call__(self, symbols, values: bool = True) -> np.ndarray:
    out = self.rows(symbols, values=values)
    return np.where(self.keep, out, np.zeros((), out.dtype))


class WindowRows:
  """Grid rows (a `GridSource.rows` builder) of the subcarriers [first, first + count) only: the part of a carrier
  wider than the frame that the frame shows, modulated as a grid of its own (a 100 MHz grid does not fit the
  frame rate's FFT, and rendering it whole at twice the rate to resample would keep its centre, not the part in
  view)."""

  def __init__(self, rows, first: int, count: int):
    self.rows, self.first, self.count = rows, first, count

  def __call__(self, symbols, values: bool = True) -> np.ndarray:
    return self.rows(symbols, values=values)[:, self.first:self.first + self.count]


def frame_window(num_subcarriers: int, numerology, centre_hz: float, sample_rate: float) -> tuple[int, int, float]:
  """(first, count, centre) of a wide carrier's subcarriers inside the frame (`inside_frame`) and the centre at
  which that window, as a grid of `count` subcarriers, puts each one at its own frequency. The window differs
  from the whole grid sent and cut only by a common phase per OFDM symbol (its shift is a whole number of
  subcarriers), which no spectrogram sees."""
  inside = np.flatnonzero(inside_frame(num_subcarriers, numerology, centre_hz, sample_rate))
  if not len(inside):
    raise ValueError(f'centre_hz={centre_hz!r}: a carrier of {num_subcarriers} subcarriers there has none inside '
                     f'±{sample_rate / 2e6:g} MHz')
  first, count = int(inside[0]), len(inside)
  shift = (ofdm.subcarrier_frequency(first, num_subcarriers, numerology)
           - ofdm.subcarrier_frequency(0, count, numerology))
  return first, count, float(centre_hz + shift)


def draw_wide_centre(rng: np.random.Generator, bandwidth_hz: float, sample_rate: float, raster_hz: int) -> float:
  """Centre (on the raster) of a carrier wider than the frame that covers at least half of it: its lower edge
  uniform from where its upper edge is mid-frame to mid-frame (relative to the frame centre), so that a share
  (bandwidth - sample_rate) / bandwidth of the draws shows neither edge (39 % for 100 MHz at 61.44 Msps)."""
  if bandwidth_hz <= sample_rate:
    raise ValueError(f'bandwidth_hz={bandwidth_hz!r}: a wide carrier is wider than sample_rate={sample_rate!r}')
  lower = rng.uniform(-bandwidth_hz, 0.0)
  return float(raster_hz * round((lower + bandwidth_hz / 2) / raster_hz))


def grid_symbol_power(rows, num_symbols: int, num_subcarriers: int) -> np.ndarray:
  """Per-symbol power Σ|x|²/num_subcarriers of a grid built by `rows` (a cut carrier's `symbol_power`)."""
  return np.sum(portable_math.abs2(rows(np.arange(num_symbols))), axis=1) / num_subcarriers


def inside_frame(num_subcarriers: int, numerology, centre_hz: float, sample_rate: float) -> np.ndarray:
  """(num_subcarriers,) bool: the subcarriers whose whole spacing lies inside ±sample_rate/2."""
  f = ofdm.subcarrier_frequency(np.arange(num_subcarriers), num_subcarriers, numerology) + centre_hz
  half = numerology.scs_hz / 2
  return (f - half >= -sample_rate / 2) & (f + half <= sample_rate / 2)


def clip_annotation(annotation: dict, sample_rate: float) -> dict:
  """Clips an annotation's band and occupancy cells to ±sample_rate/2 (cells left empty are dropped); values
  already inside are left as they are (the same objects)."""
  half = sample_rate / 2
  annotation['freq_lower_edge'] = min(max(annotation['freq_lower_edge'], -half), half)
  annotation['freq_upper_edge'] = min(max(annotation['freq_upper_edge'], -half), half)
  cells = annotation.get('occupancy')
  if cells is not None and len(cells) and (cells[:, 2].min() < -half or cells[:, 3].max() > half):
    cells = cells.copy()
    cells[:, 2:] = np.clip(cells[:, 2:], -half, half)
    annotation['occupancy'] = cells[cells[:, 3] > cells[:, 2]]
  return annotation
