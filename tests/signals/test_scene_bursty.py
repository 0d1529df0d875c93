"""WLAN and radar in scenes: placement, power, labels over carriers, rendering at chosen samples."""

import dataclasses

import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import portable_math
from specsense_jax import spectrogram
from specsense_jax.signals import scene
from specsense_jax.signals import scene_bursty
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


def test_visible_labels_record_each_burst_over_the_noise_and_a_chirp_s_swept_cells():
  # bursty_visible_labels: each packet or pulse carries its power while on over the noise density (dB-Hz),
  # measured here from the rendered transmission and the frame's noise; a chirp carries 64-sample cells over the
  # band its frequency sweeps in each (the drawn sweep, shifted to its centre).
  config, (composed,) = _frames_with('realistic_bursty', 'radar', 1, bursty_visible_labels=True,
                                     bursty_kinds=(('radar', 1.0),), bursty_counts=((3, 1.0),))
  noise_psd = composed.noise_std ** 2 / composed.sample_rate
  emitters = [t for t in composed.transmissions if type(t).__name__ == 'SampledTransmission']
  pulses = [a for a in composed.annotations if a['label'] == 'Radar']
  assert pulses and all(constants.CN0_KEY in a for a in pulses)
  k = chirps = unchirped = 0
  for params, t in zip(composed.params['bursty'], emitters):
    x = t.received(composed.sample_rate, composed.num_samples, None)
    for a in pulses[k:k + params['num_pulses']]:
      power = np.mean(portable_math.abs2(x[a['sample_start']:a['sample_start'] + a['sample_count']].astype(complex)))
      assert a[constants.CN0_KEY] == pytest.approx(10 * np.log10(power / noise_psd), abs=0.01)
      if params['modulation'] == 'lfm':
        cells = a['occupancy']
        assert cells[0, 0] == a['sample_start'] and cells[:, 1].sum() == a['sample_count']
        assert (cells[:-1, 0] + cells[:-1, 1] == cells[1:, 0]).all() and (cells[1:-1, 1] == 64).all()
        widths = cells[1:-1, 3] - cells[1:-1, 2]  # a whole cell sweeps B·64/(pulse samples)
        np.testing.assert_allclose(widths, params['bandwidth_hz'] * 64 / round(params['pulse_width_s']
                                                                               * composed.sample_rate), rtol=0.02)
        chirps += 1
        assert cells[:, 2].min() >= params['centre_hz'] - params['bandwidth_hz'] / 2 - 1
        assert cells[:, 3].max() <= params['centre_hz'] + params['bandwidth_hz'] / 2 + 1
        assert constants.SPREAD_KEY not in a
      else:  # an unchirped pulse: the spread of its emitter's pulse shape, about its centre
        spread = a[constants.SPREAD_KEY]
        assert spread is pulses[k][constants.SPREAD_KEY] and spread['centre_hz'] == params['centre_hz']
        unchirped += 1
    k += params['num_pulses']
  assert chirps > 0 and unchirped > 0
  plain = scene.compose_frame((7, 0), dataclasses.replace(config, bursty_visible_labels=False))
  assert not any(key in a for a in plain.annotations if a['label'] == 'Radar'
                 for key in (constants.CN0_KEY, constants.SPREAD_KEY, 'occupancy'))
  with pytest.raises(ValueError, match='bursty_visible_labels must be True or False'):
    scene_config.SceneConfig(bursty_visible_labels=1).validate()


def test_pulse_spread_of_a_rectangular_pulse_against_its_sinc_spectrum():
  # An N-sample rectangle's energy spectral density over its energy is sin²(πfN/fs) / (N fs sin²(πf/fs)): T = N/fs
  # at its centre, sidelobe peaks on the envelope 1/(N fs sin²(πf/fs)) (about 1/(π² f² T)). The profile is the
  # most at or beyond each offset h, smoothed over fs/256: the next peak's level, between the envelope at h + 1/T
  # and, as the smoothing reaches back 0.12 MHz, at h - 0.2/T.
  fs = 61.44e6
  count = 61  # 0.993 µs
  spread = scene_bursty.pulse_spread(np.ones(count, np.complex64) * 3.0, fs, 2e6)
  offsets, levels = np.asarray(spread['offset_hz']), np.asarray(spread['level_db'])
  assert spread['centre_hz'] == 2e6 and offsets[0] == 0 and offsets[-1] == fs / 2 and len(offsets) == 48
  assert (np.diff(offsets) > 0).all() and (np.diff(levels) <= 0).all()
  t = count / fs
  assert levels[0] == pytest.approx(10 * np.log10(t), abs=0.1)

  def envelope_db(f):
    return 10 * np.log10(1 / (count * fs * np.sin(np.pi * f / fs) ** 2))

  checked = 0
  for h, level in zip(offsets, levels):
    if 3e6 <= h <= 20e6:
      assert envelope_db(h + 1 / t) - 0.3 <= level <= envelope_db(h - 0.2 / t) + 0.1, h
      checked += 1
  assert checked >= 12
  with pytest.raises(ValueError, match='no energy'):
    scene_bursty.pulse_spread(np.zeros(8), fs, 0.0)

