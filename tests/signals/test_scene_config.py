"""Scene configuration: the realistic preset's draws, per-port fading, validation of the new options."""

import collections

import numpy as np
import pytest

from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import scene
from specsense_jax.signals import scene_config
from specsense_jax.signals import SceneConfig

REALISTIC = SceneConfig.realistic()


def _draws(label, kwargs, n=400, config=REALISTIC):
  rng = np.random.default_rng(0)
  return [scene_config.draw_traffic(rng, config, label, kwargs) for _ in range(n)]


def test_parity_config_draws_nothing_new():
  rng = np.random.default_rng(0)
  assert scene_config.draw_traffic(rng, SceneConfig(), 'LTE', {'bandwidth_mhz': 10}) == {'load': 'thinned'}
  assert scene_config.draw_traffic(rng, SceneConfig(), 'NR', {'bandwidth_mhz': 20, 'scs_khz': 30}) == {}


def test_realistic_lte_draws_follow_the_preset_weights():
  draws = _draws('LTE', {'bandwidth_mhz': 20})
  tdd = [d for d in draws if d.get('duplex') == 'tdd']
  assert 0.33 < len(tdd) / len(draws) < 0.47  # lte_tdd_share 0.4
  assert {d['ul_dl_config'] for d in tdd} <= set(range(7))
  assert collections.Counter(d['ul_dl_config'] for d in tdd).most_common(1)[0][0] == 2
  ports = collections.Counter(d.get('num_ports', 1) for d in draws)
  assert set(ports) == {1, 2, 4} and ports[2] > ports[4] > ports[1]
  loads = collections.Counter(d['load'] for d in draws)
  assert loads['idle'] / len(draws) >= 0.25  # the issue: idle at least a quarter of the time


def test_realistic_nr_is_mostly_tdd_at_30_khz_and_fdd_at_15():
  at30 = _draws('NR', {'bandwidth_mhz': 40, 'scs_khz': 30}, n=200)
  at15 = _draws('NR', {'bandwidth_mhz': 20, 'scs_khz': 15}, n=200)
  assert sum(d.get('duplex') == 'tdd' for d in at30) / 200 > 0.8
  assert sum(d.get('duplex') == 'tdd' for d in at15) / 200 < 0.3
  assert sum(d.get('load', 'matlab') == 'idle' for d in at30 + at15) / 400 >= 0.25
  assert {d['tdd_pattern'] for d in at30 if 'tdd_pattern' in d} == {'DDDSU', 'DDDSU_6_4_4', 'DDDDDDDSUU',
                                                                   'DDDSUDDSUU', 'DSUUU'}


@pytest.mark.parametrize('bandwidth, scs', [(10, 15), (20, 15), (40, 30), (50, 30)])
def test_ssb_placements_drawn_on_the_raster_lie_inside_the_carrier(bandwidth, scs):
  n_rb = nr.n_rb_for(bandwidth, scs)
  offsets = set()
  for d in _draws('NR', {'bandwidth_mhz': bandwidth, 'scs_khz': scs}, n=60):
    first = d['ssb_first_subcarrier']
    assert 0 <= first <= 12 * n_rb - 240
    assert d['ssb_case'] == ('A' if scs == 15 else 'C')
    offsets.add(first)
  # off-centre, as 3 of the 4 real NR captures are: many distinct positions, most not the centred one
  assert len(offsets) > 5 and (n_rb - 20) // 2 * 12 not in offsets or len(offsets) > 5


def test_multi_port_cells_get_one_fading_channel_per_port_and_unit_power():
  config = SceneConfig(sample_rate=15.36e6, duration_s=0.01, scenes=('lte',), lte_bandwidths_mhz=(10,),
                       lte_ports=((4, 1.0),), lte_load='medium', snr_db=(20, 20))
  composed = scene.compose_frame(3, config)
  assert len(composed.transmissions) == 4 and composed.params['signals'][0]['num_ports'] == 4
  assert len({t.gain for t in composed.transmissions}) == 1
  n = composed.num_samples
  gains = [t.fading.gains(0, np.arange(0, n, 997)) for t in composed.transmissions]
  assert not np.allclose(gains[0], gains[1])  # independent channels
  # the cell, all ports together, is scaled to unit power: the noise is the recorded SNR below it
  iq = composed.render()
  noise_free = iq - np.float32(composed.noise_std) * scene.counter_rng.complex_normal(composed.noise_key,
                                                                                     np.arange(n))
  snr = 10 * np.log10(np.mean(np.abs(noise_free) ** 2) / composed.noise_std ** 2)
  assert snr == pytest.approx(composed.snr_db, abs=0.3)
  indices = np.sort(np.random.default_rng(0).choice(n, 3000, replace=False))
  np.testing.assert_array_equal(composed.render(indices), iq[indices])


@pytest.mark.parametrize('overrides, match', [
    (dict(lte_ports=((3, 1.0),)), r'lte_ports: 3 is not allowed; allowed: \[1, 2, 4\]'),
    (dict(lte_load='busy'), "lte_load: 'busy' is not allowed"),
    (dict(lte_load=(('idle', 0.0), ('full', 0.0))), 'lte_load: the weights must not all be zero'),
    (dict(nr_tdd_share=(0.5, 1.5)), r'nr_tdd_share must be probabilities in \[0, 1\] \(at 15 kHz, at 30 kHz\)'),
    (dict(lte_tdd_share=-0.1), 'lte_tdd_share must be probabilities'),
    (dict(nr_tdd_patterns=(('DDXSU', 1.0),)), 'nr_tdd_patterns: tdd_pattern must be'),
    (dict(lte_ul_dl_configs=((7, 1.0),)), 'lte_ul_dl_configs: 7 is not allowed'),
    (dict(nr_ssb_periods_ms=((15, 1.0),)), 'nr_ssb_periods_ms: 15 is not allowed'),
])
def test_bad_traffic_options_name_the_field(overrides, match):
  with pytest.raises(ValueError, match=match):
    SceneConfig(**overrides).validate()


def test_realistic_preset_takes_overrides_and_validates():
  config = SceneConfig.realistic(image_width=256, scenes=('nr',))
  assert config.image_width == 256 and config.scenes == ('nr',) and config.nr_ssb_on_raster
  assert config.validate() is config
  assert scene_config.SCENE_PRESETS['realistic'] == SceneConfig.realistic
  assert set(scene_config.NR_BANDS.values()) <= set(nr_raster.BANDS)


def test_parity_config_lays_out_nothing_new():
  assert not SceneConfig().multi_carrier and not SceneConfig().has_interferers
  assert REALISTIC.multi_carrier and REALISTIC.has_interferers


def test_realistic_preset_scenes_and_channels():
  assert set(REALISTIC.channel_models) == {'single_path', 'tdl', 'epa', 'eva', 'etu'}
  assert set(REALISTIC.tdl_profiles) == {'A', 'B', 'C', 'D', 'E'}
  assert {n for n, _ in REALISTIC.lte_carriers} == {1, 2, 3} and {n for n, _ in REALISTIC.nr_carriers} == {1, 2}
  assert dict(REALISTIC.interferer_counts)[0] == pytest.approx(0.5)  # about half the frames hold an interferer
  config = SceneConfig.realistic(sample_rate=30.72e6, duration_s=0.002, image_width=64)
  counts, models, carriers = [], set(), []
  for seed in range(16):
    params = scene.compose_frame(seed, config).params
    counts.append(len(params['interferers']))
    models.add(params['channel_model'])
    carriers.append(len(params['signals']))
  assert 3 <= sum(c > 0 for c in counts) <= 13
  assert len(models) >= 3 and max(carriers) >= 2


@pytest.mark.parametrize('overrides, match', [
    (dict(lte_carriers=((0, 1.0),)), r'lte_carriers: counts must be whole numbers in \[1, 8\]'),
    (dict(nr_carriers=2), r'nr_carriers must be weighted choices'),
    (dict(interferer_counts=((9, 1.0),)), r'interferer_counts: counts must be whole numbers in \[0, 8\]'),
    (dict(interferer_kinds=(('wifi', 1.0),)), "interferer_kinds: 'wifi' is not allowed"),
    (dict(contiguous_share=1.5), r'contiguous_share must be a probability in \[0, 1\]'),
    (dict(edge_cut_share=-0.1), r'edge_cut_share must be a probability'),
    (dict(carrier_power_offset_db=(10.0, 5.0)), 'carrier_power_offset_db must satisfy'),
    (dict(edge_cut_fraction=(0.0, 0.5)), 'edge_cut_fraction must satisfy'),
    (dict(interferer_power_db=(-10.0, 40.0)), 'interferer_power_db must satisfy'),
    (dict(nr_wide_share=2.0), r'nr_wide_share must be a probability'),
    (dict(nr_wide_share=0.5, nr_wide_bandwidths_mhz=(40,)), r'nr_wide_bandwidths_mhz must be wider than sample_rate'),
    (dict(nr_wide_share=0.5, nr_wide_bandwidths_mhz=(75,)), r'nr_wide_bandwidths_mhz: .*75'),  # no such channel
    (dict(nr_wide_share=0.5, nr_wide_bandwidths_mhz=()), r'nr_wide_bandwidths_mhz must name at least one'),
])
def test_bad_layout_options_name_the_field(overrides, match):
  with pytest.raises(ValueError, match=match):
    SceneConfig(**overrides).validate()
