"""NR rasters (TS 38.104 §5.4), SS/PBCH placements on the synchronization raster and burst configuration, against
the tables, hand calculations, TS 38.508-1 test frequencies and real captures."""

import numpy as np
import pytest

from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_ssb
from specsense_jax.signals import ofdm

# Hand-worked from TS 38.104 Table 5.4.3.1-1: (GSCN, SS_REF Hz). Below 3 GHz GSCN = 3N + (M - 3)/2.
GSCN_HZ = [
    (2, 1_250_000),  # N = 1, M = 1: 1200 + 50 kHz
    (3, 1_350_000),  # N = 1, M = 3
    (4, 1_450_000),  # N = 1, M = 5
    (4643, 1_857_650_000),  # N = 1548, M = 1
    (5279, 2_112_050_000),  # N = 1760, M = 1
    (7498, 2_999_050_000),  # N = 2499, M = 5
    (7499, 3_000_000_000),  # N = 0
    (7711, 3_305_280_000),  # 3000 + 212 * 1.44 MHz
    (7864, 3_525_600_000),  # 3000 + 365 * 1.44 MHz
    (22255, 24_248_640_000),  # 3000 + 14756 * 1.44 MHz
]
# TS 38.104 Table 5.4.2.1-1: (NR-ARFCN, F_REF Hz).
ARFCN_HZ = [
    (0, 0), (373_000, 1_865_000_000), (422_000, 2_110_000_000), (599_999, 2_999_995_000),
    (600_000, 3_000_000_000), (620_000, 3_300_000_000), (633_334, 3_500_010_000), (693_334, 4_400_010_000),
    (2_016_666, 24_249_990_000),
]
# Written out again from TS 38.104 Table 5.2-1 (downlink MHz, duplex), independent of the module's table.
TABLE_5_2_1 = {
    'n1': (2110, 2170, 'FDD'), 'n3': (1805, 1880, 'FDD'), 'n5': (869, 894, 'FDD'), 'n7': (2620, 2690, 'FDD'),
    'n8': (925, 960, 'FDD'), 'n20': (791, 821, 'FDD'), 'n28': (758, 803, 'FDD'), 'n38': (2570, 2620, 'TDD'),
    'n40': (2300, 2400, 'TDD'), 'n41': (2496, 2690, 'TDD'), 'n77': (3300, 4200, 'TDD'), 'n78': (3300, 3800, 'TDD'),
    'n79': (4400, 5000, 'TDD'),
}
# TS 38.508-1 §4.3.1.1 test frequencies (SS block SCS = carrier SCS = 15 kHz): band, carrier centre MHz, N_RB,
# offsetToCarrier, GSCN, k_SSB, offsetToPointA of the table. Our point A is the carrier edge (offsetToCarrier 0),
# so our offsetToPointA is the table's minus offsetToCarrier.
TS_38_508 = [
    ('n1', 2112.5, 25, 0, 5279, 0, 0), ('n1', 2140, 25, 102, 5350, 8, 103), ('n1', 2167.5, 25, 504, 5418, 8, 505),
    ('n1', 2115, 52, 0, 5280, 2, 0), ('n1', 2140, 52, 102, 5344, 10, 103), ('n1', 2117.5, 79, 0, 5281, 4, 0),
    ('n1', 2140, 79, 102, 5338, 0, 104), ('n28', 760.5, 25, 0, 1902, 0, 5), ('n28', 780.5, 25, 102, 1949, 0, 102),
    ('n28', 763, 52, 0, 1903, 2, 5), ('n28', 780.5, 52, 102, 1943, 2, 102), ('n28', 765.5, 79, 0, 1901, 8, 3),
]
# ../shared/realdata captures (README): band, carrier centre, N_RB, SCS, SS/PBCH centre, and by hand: GSCN, first
# subcarrier = 6·N_RB + offset/SCS - 120, k_SSB = (first mod 12)·SCS/15, offsetToPointA = (first div 12)·SCS/15.
CAPTURES = [
    ('n78', 3500.01e6, 273, 30, 3525.60e6, 7864, 2371, 14, 394),  # +25.59 MHz = 853 subcarriers
    ('n78', 3427.5e6, 106, 30, 3413.28e6, 7786, 42, 12, 6),  # -14.22 MHz = -474 subcarriers
    ('n3', 1865e6, 106, 15, 1857.65e6, 4643, 26, 2, 2),  # -7.35 MHz = -490 subcarriers
]


@pytest.mark.parametrize('gscn, hz', GSCN_HZ)
def test_gscn_by_hand(gscn, hz):
  assert nr_raster.gscn_to_hz(gscn) == hz
  assert nr_raster.hz_to_gscn(hz) == gscn
  assert nr_raster.hz_to_gscn(hz / 1e6 * 1e6) == gscn  # MHz-style floats such as 1857.65e6


def test_gscn_round_trip_and_monotonic():
  hz = [nr_raster.gscn_to_hz(g) for g in range(2, 22256)]
  assert [nr_raster.hz_to_gscn(f) for f in hz] == list(range(2, 22256))
  steps = np.diff(hz)  # below 3 GHz: triplets 100 kHz apart every 1.2 MHz; above: 1.44 MHz
  assert set(steps[:7496]) == {100e3, 1000e3} and steps[7496] == 950e3 and set(steps[7497:]) == {1.44e6}


@pytest.mark.parametrize('arfcn, hz', ARFCN_HZ)
def test_arfcn_by_hand(arfcn, hz):
  assert nr_raster.arfcn_to_hz(arfcn) == hz
  assert nr_raster.hz_to_arfcn(hz) == arfcn


def test_arfcn_vectorized():
  np.testing.assert_array_equal(nr_raster.arfcn_to_hz(np.array([a for a, _ in ARFCN_HZ])), [h for _, h in ARFCN_HZ])


@pytest.mark.parametrize('call, match', [
    (lambda: nr_raster.gscn_to_hz(1), r'gscn must be an int in \[2, 22255\]'),
    (lambda: nr_raster.gscn_to_hz(22256), 'gscn must be'),
    (lambda: nr_raster.gscn_to_hz(7711.0), 'gscn must be'),
    (lambda: nr_raster.hz_to_gscn(3305.27e6), 'not an SS_REF'),
    (lambda: nr_raster.hz_to_gscn(1.3e6), 'not an SS_REF'),
    (lambda: nr_raster.hz_to_gscn(2999.5e6), 'not an SS_REF'),
    (lambda: nr_raster.hz_to_gscn(3305.28e6 + 0.5), 'not a whole number of Hz'),
    (lambda: nr_raster.hz_to_arfcn(3000.005e6), r'15 kHz global frequency raster'),
    (lambda: nr_raster.hz_to_arfcn(2110.001e6), r'5 kHz global frequency raster'),
    (lambda: nr_raster.hz_to_arfcn(24250e6), 'outside FR1'),
    (lambda: nr_raster.arfcn_to_hz(2_016_667), 'arfcn must be an integer NR-ARFCN'),
    (lambda: nr_raster.arfcn_to_hz(-1), 'arfcn must be'),
])
def test_raster_conversions_reject(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_band_tables():
  assert list(nr_raster.BANDS) == list(TABLE_5_2_1)
  for name, (lo, hi, duplex) in TABLE_5_2_1.items():
    b = nr_raster.get_band(name)
    assert (b.dl_mhz, b.duplex) == ((lo, hi), duplex)
    for delta_khz, first, step, last in b.channel_raster:
      # Table 5.4.2.3-1: the raster spans the band, step = ΔF_Raster / ΔF_Global.
      assert step * (5 if first < 600_000 else 15) == delta_khz
      assert 0 <= nr_raster.arfcn_to_hz(first) - lo * 1e6 < delta_khz * 1e3
      assert 0 <= hi * 1e6 - nr_raster.arfcn_to_hz(last) < delta_khz * 1e3
    for entry in b.ss_raster:
      # Every SS/PBCH block of the SS raster lies inside the downlink band: SS_REF - 120 SCS - SCS/2 (lower edge
      # of subcarrier 0) to SS_REF + 119 SCS + SCS/2.
      scs = entry.scs_khz * 1e3
      for gscn in (min(entry.gscns), max(entry.gscns)):
        ss_ref = nr_raster.gscn_to_hz(gscn)
        assert lo * 1e6 <= ss_ref - 120.5 * scs and ss_ref + 119.5 * scs <= hi * 1e6, (name, gscn)
      assert entry.case == {15: 'A', 30: 'C' if duplex == 'TDD' else 'B'}[entry.scs_khz]
  assert nr_raster.get_band(78) is nr_raster.get_band('N78') is nr_raster.BANDS['n78']
  assert nr_raster.BANDS['n78'].channel_raster == ((15, 620_000, 1, 653_333), (30, 620_000, 2, 653_332))


@pytest.mark.parametrize('band, fc, n_rb, scs, ss_ref, gscn, first, k_ssb, point_a', CAPTURES)
def test_real_captures_are_placements(band, fc, n_rb, scs, ss_ref, gscn, first, k_ssb, point_a):
  assert nr_raster.hz_to_gscn(ss_ref) == gscn
  placement = {p.gscn: p for p in nr_raster.ssb_placements(fc, n_rb, scs, band)}[gscn]
  assert (placement.first_subcarrier, placement.k_ssb, placement.offset_to_point_a) == (first, k_ssb, point_a)
  assert placement.ssb_centre_hz == ss_ref and placement.offset_hz == pytest.approx(ss_ref - fc, abs=1e-3)
  # The integration: ssb_k0 = first_subcarrier puts nr_source's SS/PBCH centre at the capture's offset.
  numerology = ofdm.nr_numerology(scs, 61.44e6)
  assert ofdm.subcarrier_frequency(first + 120, 12 * n_rb, numerology) == pytest.approx(ss_ref - fc, abs=1e-3)
  assert nr_raster.hz_to_arfcn(fc) in nr_raster.channel_raster(band, scs)  # the carriers are on the raster too


@pytest.mark.parametrize('band, centre_mhz, n_rb, offset_to_carrier, gscn, k_ssb, point_a', TS_38_508)
def test_ts_38_508_test_frequencies(band, centre_mhz, n_rb, offset_to_carrier, gscn, k_ssb, point_a):
  placements = {p.gscn: p for p in nr_raster.ssb_placements(centre_mhz * 1e6, n_rb, 15, band)}
  assert (placements[gscn].k_ssb, placements[gscn].offset_to_point_a) == (k_ssb, point_a - offset_to_carrier)


def _brute_force(fc, n_rb, scs, band):
  """(GSCN, first subcarrier) of every raster block on the carrier grid, found through ofdm.subcarrier_frequency."""
  n_sc = 12 * n_rb
  freqs = fc + ofdm.subcarrier_frequency(np.arange(n_sc), n_sc, ofdm.nr_numerology(scs, 61.44e6))
  bandwidth = {v: k for k, v in nr.NR_N_RB[scs].items()}[n_rb]
  out = []
  for entry in nr_raster.get_band(band).ss_raster:
    if entry.scs_khz == scs and entry.bandwidth_mhz[0] <= bandwidth < entry.bandwidth_mhz[1]:
      for gscn in entry.gscns:
        k = np.flatnonzero(freqs == nr_raster.gscn_to_hz(gscn))
        if len(k) and 120 <= k[0] <= n_sc - 120:
          out.append((gscn, int(k[0]) - 120))
  return sorted(out)


@pytest.mark.parametrize('band, bandwidth, scs', [
    ('n78', 100, 30), ('n3', 20, 15), ('n1', 5, 15), ('n5', 10, 30), ('n38', 20, 15), ('n41', 100, 30),
    ('n41', 20, 15), ('n79', 20, 30), ('n79', 40, 30), ('n28', 30, 15)])
def test_placements_on_grid_and_inside(band, bandwidth, scs):
  n_rb = nr.n_rb_for(bandwidth, scs)
  for seed in range(3):
    fc = nr_raster.draw_carrier(np.random.default_rng(seed), band, bandwidth, scs)
    placements = nr_raster.ssb_placements(fc, n_rb, scs, band)
    assert placements and [(p.gscn, p.first_subcarrier) for p in placements] == _brute_force(fc, n_rb, scs, band)
    for p in placements:
      assert 0 <= p.first_subcarrier <= 12 * n_rb - 240
      assert p.ssb_centre_hz - fc == (p.first_subcarrier + 120 - 6 * n_rb) * scs * 1e3
      # Point A (carrier subcarrier 0) to block subcarrier 0 = offsetToPointA 180 kHz RBs + k_SSB 15 kHz units.
      assert p.offset_to_point_a * 180e3 + p.k_ssb * 15e3 == p.first_subcarrier * scs * 1e3
      assert 0 <= p.k_ssb <= 23 and p.k_ssb % (scs // 15) == 0 and p.offset_to_point_a % (scs // 15) == 0
      assert p.rbs[1] - p.rbs[0] == (20 if p.k_ssb == 0 else 21)
    if band == 'n79':  # every 16th GSCN from 8480 for 40 MHz and wider, every GSCN of 8475..8884 below
      assert all((p.gscn - 8480) % 16 == 0 for p in placements) == (bandwidth >= 40)


def test_draw_carrier():
  for band in nr_raster.BANDS:
    for scs in nr_raster.get_band(band).ssb_scs_khz:
      fc = nr_raster.draw_carrier(np.random.default_rng(7), band, 10, scs)
      assert fc == nr_raster.draw_carrier(np.random.default_rng(7), band, 10, scs)
      lo, hi, _ = TABLE_5_2_1[band]
      assert lo * 1e6 <= fc - 5e6 and fc + 5e6 <= hi * 1e6
      assert nr_raster.hz_to_arfcn(fc) in nr_raster.channel_raster(band, scs)
      assert nr_raster.ssb_placements(fc, nr.n_rb_for(10, scs), scs, band)
  centres = {nr_raster.draw_carrier(np.random.default_rng(s), 'n78', 100, 30, require_ssb=False) for s in range(20)}
  assert len(centres) > 10 and all(3350e6 <= c <= 3750e6 for c in centres)
  raster = nr_raster.channel_raster('n78', 30, 100)  # 30 kHz steps from 3350.01 MHz (NR-ARFCN 623334)
  assert (raster[0], raster[-1], np.diff(raster).max()) == (623_334, 650_000, 2)


@pytest.mark.parametrize('call, match', [
    (lambda: nr_raster.get_band('n2'), r"band must be one of \['n1', 'n3'"),
    (lambda: nr_raster.ssb_placements(2140e6, 51, 30, 'n1'), r'band n1 has SS/PBCH blocks at \(15,\) kHz only'),
    (lambda: nr_raster.ssb_placements(3500e6, 273, 30, 'n78', ssb_scs_khz=15), 'ssb_scs_khz must equal'),
    (lambda: nr_raster.ssb_placements(3500e6, 270, 30, 'n78'), 'n_rb must be a transmission bandwidth'),
    (lambda: nr_raster.ssb_placements(3500e6, 273, 60, 'n78'), 'scs_khz must be one of'),
    (lambda: nr_raster.channel_raster('n78', 30, 12), 'bandwidth_mhz=12 is not defined'),
    (lambda: nr_raster.draw_carrier(np.random.default_rng(0), 'n28', 50, 15), 'does not fit band n28'),
    (lambda: nr_raster.draw_carrier(np.random.default_rng(0), 'n1', 10, 30), 'SS/PBCH blocks at'),
    (lambda: nr_raster.draw_carrier(0, 'n1', 10, 15), 'rng must be a numpy Generator'),
])
def test_placement_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_off_grid_carrier_has_no_placement():
  assert nr_raster.ssb_placements(3500.015e6, 273, 30, 'n78') == []  # 15 kHz off the 30 kHz grid of the GSCNs
  assert nr_raster.ssb_placements(3500.01e6 + 0.25, 273, 30, 'n78') == []


@pytest.mark.parametrize('period, bitmap, l_max, transmitted', [
    (20, '10100000', None, (1, 0, 1, 0, 0, 0, 0, 0)),
    (5, 'single', 4, (1, 0, 0, 0)),
    (160, 'single', 8, (1, 0, 0, 0, 0, 0, 0, 0)),
    (10, [0, 0, 0, 1], 4, (0, 0, 0, 1)),
    (40, (True,) * 8, None, (1,) * 8),
])
def test_ssb_burst(period, bitmap, l_max, transmitted):
  burst = nr_ssb.ssb_burst(period, bitmap, l_max)
  assert burst.period_ms == period and burst.transmitted == tuple(map(bool, transmitted))
  assert burst.l_max == len(transmitted) and burst.indices == tuple(np.flatnonzero(transmitted))


@pytest.mark.parametrize('kwargs, match', [
    (dict(ssb_period_ms=15), r'ssb_period_ms must be one of \(5, 10, 20, 40, 80, 160\)'),
    (dict(ssb_period_ms=True), 'ssb_period_ms must be'),
    (dict(ssb_bitmap='0000'), 'at least one block'),
    (dict(ssb_bitmap='101'), 'must have 4 or 8 bits'),
    (dict(ssb_bitmap='10100000', l_max=4), 'must have 4 bits'),
    (dict(ssb_bitmap='single'), 'needs l_max'),
    (dict(ssb_bitmap='single', l_max=64), 'l_max must be one of'),
    (dict(ssb_bitmap='1x00'), "string of '0'/'1'"),
    (dict(ssb_bitmap=[1.0, 0, 0, 0]), 'sequence of 0/1'),
])
def test_ssb_burst_rejects(kwargs, match):
  with pytest.raises(ValueError, match=match):
    nr_ssb.ssb_burst(**kwargs)


@pytest.mark.parametrize('case, hz, paired, expected', [
    ('A', 2.1e9, True, 4), ('A', 3e9, True, 4), ('A', 3.5e9, False, 8), ('B', 0.88e9, True, 4),
    ('B', 3.3e9, False, 8), ('C', 2.0e9, True, 4), ('C', 1.87e9, False, 4), ('C', 1.88e9, False, 8),
    ('C', 2.6e9, False, 8), ('C', 3.5e9, False, 8)])
def test_l_max(case, hz, paired, expected):  # TS 38.213 §4.1
  assert nr_ssb.l_max(case, hz, paired) == expected


def test_band_cases_are_accepted_by_nr_source():
  # The integration passes each raster entry's case to nr_source, which checks it against the carrier SCS.
  for entry in {(e.case, e.scs_khz) for b in nr_raster.BANDS.values() for e in b.ss_raster}:
    nr.nr_source(10, entry[1], ncellid=0, seed=0, duration_s=0.005, ssb_case=entry[0])
