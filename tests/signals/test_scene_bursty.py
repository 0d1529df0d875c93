"""WLAN and radar in scenes: placement, power, labels over carriers, rendering at chosen samples."""

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import portable_math
from specsense_jax import spectrogram
from specsense_jax.signals import scene
from specsense_jax.signals import scene_config


def _frames_with(preset, kind, count, **overrides):
  config = scene_config.SCENE_PRESETS[preset](sample_rate=30.72e6, duration_s=0.01, **overrides)
  found = []
  for k in range(40):
    composed = scene.compose_frame((7, k), config)
    if any(b['kind'] == kind for b in composed.params.get('bursty', [])):
      found.append(composed)
      if len(found) == count:
        return config, found
  raise AssertionError(f'no {kind} in 40 frames')


def test_emitters_are_annotated_per_packet_after_the_carriers_at_their_drawn_power():
  config, frames = _frames_with('realistic_bursty', 'wlan', 2)
  for composed in frames:
    labels = [a['label'] for a in composed.annotations]
    first_bursty = min(labels.index(name) for name in ('WLAN', 'Radar') if name in labels)
    assert set(labels[first_bursty:]) <= {'WLAN', 'Radar'}  # they paint over the carriers' bands
    # Each emitter's PSD while on is its drawn power_db above the strongest carrier's (level over nominal band;
    # realistic scenes scale carrier k to 10^(-offset_k/10)).
    reference = max(10 ** (-c['power_offset_db'] / 10) / (c['bandwidth_mhz'] * 1e6)
                    for c in composed.params['signals'])
    emitters = [t for t in composed.transmissions if type(t).__name__ == 'SampledTransmission']
    assert len(emitters) == len(composed.params['bursty'])
    for params, t in zip(composed.params['bursty'], emitters):
      on = np.abs(t.iq) > 1e-3 * np.abs(t.iq).max()  # while a packet or pulse is on (not the filter tails)
      x = t.received(composed.sample_rate, composed.num_samples, None)
      psd_on = np.mean(portable_math.abs2(x[on].astype(np.complex128))) / params['band_hz']
      assert 10 * np.log10(psd_on / reference) == pytest.approx(params['power_db'], abs=0.05)
      assert config.bursty_power_db[0] <= params['power_db'] <= config.bursty_power_db[1]


def test_rendering_at_chosen_samples_equals_the_whole_frame():
  _, (composed,) = _frames_with('realistic_bursty', 'radar', 1)
  whole = composed.render()
  indices = np.sort(np.random.default_rng(0).choice(composed.num_samples, 5000, replace=False))
  assert composed.render(indices).tobytes() == whole[indices].tobytes()


def test_parity_preset_places_wlan_beside_the_carriers_and_labels_its_rows():
  config, frames = _frames_with('matlab_wlan', 'wlan', 2, nr_bandwidths_mhz=(10,), lte_bandwidths_mhz=(5,))
  for composed in frames:
    carriers = [a for a in composed.annotations if a['label'] in ('NR', 'LTE')]
    packets = [a for a in composed.annotations if a['label'] == 'WLAN']
    assert packets and all(p['freq_lower_edge'] >= c['freq_upper_edge'] or p['freq_upper_edge'] <= c['freq_lower_edge']
                           for p in packets for c in carriers)
    assert {p['freq_upper_edge'] - p['freq_lower_edge'] for p in packets} <= {20e6, 40e6} or any(
        p['freq_lower_edge'] <= -composed.sample_rate / 2 or p['freq_upper_edge'] >= composed.sample_rate / 2
        for p in packets)
    mask = spectrogram.label_mask(composed.annotations, composed.sample_rate, composed.num_samples, (64, 64),
                                  spectrogram_mode='matlab')
    rows = (mask == constants.CLASS_IDS['WLAN']).any(axis=1)
    assert 0 < rows.sum() < 64  # only the rows a packet is in
    assert composed.params['bursty'][0]['traffic'] == 'matlab'


def test_parity_defaults_draw_no_emitters_and_bad_fields_are_named():
  composed = scene.compose_frame(3, scene_config.SceneConfig(sample_rate=30.72e6, duration_s=0.005))
  assert 'bursty' not in composed.params
  assert scene_config.SceneConfig().labels == ('NR', 'LTE')
  assert scene_config.SCENE_PRESETS['realistic_bursty']().labels == ('NR', 'LTE', 'Unknown', 'WLAN', 'Radar')
  for field, value, message in (('bursty_kinds', (('lidar', 1.0),), "bursty_kinds: 'lidar' is not allowed"),
                                ('wlan_formats', (('ax', 1.0),), "wlan_formats: 'ax' is not allowed"),
                                ('bursty_cochannel_share', 1.5, 'bursty_cochannel_share must be a probability'),
                                ('wlan_traffic', 'poisson', 'wlan_traffic must be one of')):
    with pytest.raises(ValueError, match=message):
      scene_config.SceneConfig(**{field: value}).validate()


def test_without_the_fallback_no_emitter_drawn_for_free_spectrum_lands_over_a_carrier():
  # A co-channel share near 0: with the fallback, frames full of carriers still put emitters over them; without
  # it those emitters are left out, and every placed one lies in free spectrum, outside each carrier's band.
  counts = {}
  for fallback in (True, False):
    config = scene_config.SCENE_PRESETS['realistic_bursty'](
        sample_rate=30.72e6, duration_s=0.005, bursty_counts=((2, 1.0),), bursty_cochannel_share=1e-9,
        bursty_cochannel_fallback=fallback)
    placed = cochannel = 0
    for k in range(12):
      composed = scene.compose_frame((11, k), config)
      carriers = [(s['center_frequency_hz'] - half, s['center_frequency_hz'] + half)
                  for s in composed.params['signals'] for half in [s['bandwidth_mhz'] * 5e5]]
      for emitter in composed.params.get('bursty', []):
        placed += 1
        cochannel += emitter['cochannel']
        if not fallback:
          lo, hi = emitter['centre_hz'] - emitter['band_hz'] / 2, emitter['centre_hz'] + emitter['band_hz'] / 2
          assert all(hi <= c_lo + 1 or lo >= c_hi - 1 for c_lo, c_hi in carriers)
    counts[fallback] = placed, cochannel
  assert counts[True][1] > 0 and counts[False][1] == 0
  assert 0 < counts[False][0] < counts[True][0]
  with pytest.raises(ValueError, match='bursty_cochannel_fallback must be True or False'):
    scene_config.SceneConfig(bursty_cochannel_fallback=1).validate()
