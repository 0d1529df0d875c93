"""Carrier placement on the channel rasters, edge cuts, free spectrum and annotation clipping (closed forms)."""

import numpy as np
import pytest

from specsense_jax.signals import ofdm
from specsense_jax.signals import scene_layout

FS = 61.44e6


def _place(seed, labels, widths_mhz, rasters, **kwargs):
  options = dict(contiguous_share=0.5, edge_cut_share=0.0, edge_cut_fraction=(0.1, 0.7), keep_first=1)
  options.update(kwargs)
  return scene_layout.place_carriers(np.random.default_rng(seed), labels, [w * 1e6 for w in widths_mhz], rasters,
                                     FS, **options)


def _bands(layout, widths_mhz):
  return sorted((layout.centres_hz[i] - widths_mhz[i] * 5e5, layout.centres_hz[i] + widths_mhz[i] * 5e5)
                for i in layout.kept)


@pytest.mark.parametrize('band, scs, step', [('n3', 15, 100_000), ('n78', 30, 30_000), ('n78', 15, 15_000),
                                             ('n41', 15, 15_000), ('n41', 30, 30_000)])
def test_nr_channel_raster_steps(band, scs, step):
  # TS 38.104 Table 5.4.2.3-1: ΔF_Raster 100 kHz (n3), 15/30 kHz (n41, n78) for carriers of that SCS
  assert scene_layout.nr_raster_hz(band, scs) == step


def test_contiguous_lte_carriers_are_the_nominal_spacing_apart():
  widths = [5, 10, 20]
  for seed in range(10):
    layout = _place(seed, ['LTE'] * 3, widths, [100_000] * 3, contiguous_share=1.0)
    assert layout.kept == (0, 1, 2) and all(adjacent for *_, adjacent in layout.contiguous)
    for _, a, b, _ in layout.contiguous:  # TS 36.104 §5.7.1: (BW1 + BW2)/2, here 7.5 and 15 MHz
      assert layout.centres_hz[b] - layout.centres_hz[a] == pytest.approx((widths[a] + widths[b]) / 2 * 1e6, abs=1e-3)
    bands = _bands(layout, widths)
    assert bands[0][0] >= -FS / 2 - 1e-3 and bands[-1][1] <= FS / 2 + 1e-3


def test_non_contiguous_lte_centres_stay_on_the_100_khz_raster():
  widths = [10, 10, 5]
  gaps = []
  for seed in range(10):
    layout = _place(seed, ['LTE'] * 3, widths, [100_000] * 3, contiguous_share=0.0)
    centres = [layout.centres_hz[i] for i in layout.kept]
    for x, y in zip(centres, centres[1:]):
      steps = (y - x) / 100e3
      assert steps == pytest.approx(round(steps), abs=1e-6)
    for _, a, b, _ in layout.contiguous:
      gaps.append(layout.centres_hz[b] - layout.centres_hz[a] - (widths[a] + widths[b]) / 2 * 1e6)
  assert min(gaps) >= -1e-3 and max(gaps) > 1e6  # random gaps, never overlapping


def test_nr_carriers_of_different_rasters_sit_on_their_common_multiple():
  # a 30 kHz raster carrier (n78) and a 100 kHz one (n3): differences are multiples of lcm = 300 kHz, and adjacent
  # ones (30 + 25)/2 = 27.5 MHz rounded up to 27.6 MHz
  for seed in range(8):
    layout = _place(seed, ['NR', 'NR'], [30, 25], [30_000, 100_000], contiguous_share=float(seed % 2))
    assert layout.kept == (0, 1)
    diff = layout.centres_hz[1] - layout.centres_hz[0]
    assert diff / 300e3 == pytest.approx(round(diff / 300e3), abs=1e-6)
    assert diff >= 27.6e6 - 1e-3
    if seed % 2:
      assert diff == pytest.approx(27.6e6, abs=1e-3)


def test_standards_never_overlap_and_extra_carriers_that_do_not_fit_are_dropped():
  labels = ['NR', 'LTE', 'LTE', 'LTE', 'LTE']
  widths = [40, 20, 20, 20, 20]
  for seed in range(10):
    layout = _place(seed, labels, widths, [30_000] + [100_000] * 4, keep_first=2)
    assert layout.kept[:2] == (0, 1) and len(layout.kept) == 2  # 40 + 20 MHz leave no room for another 20
    bands = _bands(layout, widths)
    assert all(hi <= lo2 + 1e-3 for (_, hi), (lo2, _) in zip(bands, bands[1:]))
    assert bands[0][0] >= -FS / 2 - 1e-3 and bands[-1][1] <= FS / 2 + 1e-3


def test_edge_cut_puts_the_drawn_fraction_outside_the_frame():
  widths = [10, 10]
  edges = set()
  for seed in range(12):
    layout = _place(seed, ['LTE', 'LTE'], widths, [100_000] * 2, edge_cut_share=1.0, edge_cut_fraction=(0.2, 0.6))
    index, edge, fraction = layout.cut
    edges.add(edge)
    assert 0.2 <= fraction <= 0.6
    lo, hi = layout.centres_hz[index] - 5e6, layout.centres_hz[index] + 5e6
    outside = (-FS / 2 - lo) if edge == 'low' else (hi - FS / 2)
    assert outside == pytest.approx(fraction * 10e6, abs=1e-3)
    other = 1 - index
    assert -FS / 2 - 1e-3 <= layout.centres_hz[other] - 5e6 and layout.centres_hz[other] + 5e6 <= FS / 2 + 1e-3
  assert edges == {'low', 'high'}


def test_free_intervals_and_free_centres():
  free = scene_layout.free_intervals([(-10e6, 0.0), (-5e6, 5e6), (20e6, 40e6)], FS)
  assert free == [(-FS / 2, -10e6), (5e6, 20e6)]
  rng = np.random.default_rng(0)
  for _ in range(50):
    centre = scene_layout.draw_free_centre(rng, free, 8e6)
    assert any(lo + 4e6 <= centre <= hi - 4e6 for lo, hi in free)
  assert scene_layout.draw_free_centre(rng, free, 25e6) is None


def test_clip_annotation_clips_band_and_cells_and_drops_empty_cells():
  cells = np.array([[0, 10, 25e6, 35e6], [0, 10, 31e6, 33e6], [5, 5, -1e6, 1e6]])
  ann = scene_layout.clip_annotation({'freq_lower_edge': 25e6, 'freq_upper_edge': 35e6, 'occupancy': cells}, FS)
  assert ann['freq_upper_edge'] == FS / 2 and ann['freq_lower_edge'] == 25e6
  np.testing.assert_array_equal(ann['occupancy'], [[0, 10, 25e6, FS / 2], [5, 5, -1e6, 1e6]])
  inside = {'freq_lower_edge': -1.0, 'freq_upper_edge': 1.0, 'occupancy': cells[2:]}
  assert scene_layout.clip_annotation(dict(inside), FS)['occupancy'] is inside['occupancy']  # untouched


@pytest.mark.parametrize('centre', [7.38e6, -40.0e6, 35.0e6, 0.0])
def test_frame_window_puts_each_subcarrier_where_the_whole_grid_has_it(centre):
  numerology = ofdm.nr_numerology(30, 122.88e6)  # 100 MHz at 30 kHz: 3276 subcarriers
  whole = 273 * 12
  first, count, window_centre = scene_layout.frame_window(whole, numerology, centre, FS)
  inside = scene_layout.inside_frame(whole, numerology, centre, FS)
  assert (first, count) == (np.flatnonzero(inside)[0], inside.sum()) and inside[first:first + count].all()
  j = np.arange(count)
  np.testing.assert_allclose(ofdm.subcarrier_frequency(j, count, numerology) + window_centre,
                             ofdm.subcarrier_frequency(first + j, whole, numerology) + centre, atol=1e-6)
  assert count <= FS / 30e3  # fits the frame rate's 2048-point FFT at 30 kHz
  rows = scene_layout.WindowRows(lambda symbols, values=True: np.tile(np.arange(whole), (len(symbols), 1)), first,
                                 count)
  np.testing.assert_array_equal(rows(np.arange(2)), np.tile(first + j, (2, 1)))


def test_wide_carrier_centres_cover_at_least_half_the_frame():
  rng = np.random.default_rng(0)
  centres = np.array([scene_layout.draw_wide_centre(rng, 100e6, FS, 30_000) for _ in range(4000)])
  assert np.all(np.round(centres / 30_000) * 30_000 == centres)  # on the n78 raster
  covered = np.minimum(FS / 2, centres + 50e6) - np.maximum(-FS / 2, centres - 50e6)
  assert covered.min() >= FS / 2 - 30_000
  no_edge = (centres - 50e6 <= -FS / 2) & (centres + 50e6 >= FS / 2)
  assert np.mean(no_edge) == pytest.approx((100e6 - FS) / 100e6, abs=0.03)  # 38.6 % show neither edge
