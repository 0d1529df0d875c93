"""Synthetic captures: windows equal the whole capture; a realistic example equals what prediction makes from the
same samples written as a recording; no labels where the capture has no band."""

import dataclasses
import hashlib

import numpy as np
import pytest
import scipy.signal

from specsense_jax import capture
from specsense_jax import constants
from specsense_jax import synthetic
from specsense_jax.io import sigmf
from specsense_jax.signals import polyphase
from specsense_jax.signals import receiver
from specsense_jax.signals import receiver_chain
from specsense_jax.signals import scene

FULL = receiver.ReceiverParams(  # every impairment at once
    capture_rate=19.2e6, adc_bits=8, agc_backoff_db=12.0, passband=0.9, dc_leak_dbc=-10.0, dc_phase=0.4,
    dc_decay_s=5e-3, iq_gain=1.02, iq_phase=0.02, spur_offsets_hz=(9.3e6, -2e6), spur_levels_db=(15.0, 8.0),
    spur_phases=(0.1, 0.2), tilt_db=2.0, ripple_db=1.0, ripple_cycles=1.5, ripple_phase=0.3, carrier_hz=1.8e9,
    lo_ppm=1.2, clock_ppm=-1.7, phase_noise_dbc_hz=-85.0, seed=11)


@pytest.mark.parametrize('rate', [15.36e6, 19.2e6, 46.08e6, 61.44e6])
def test_windows_equal_the_whole_capture(rate):
  x = np.random.default_rng(0).normal(size=(61440, 2)) @ np.array([1, 1j])
  x = x.astype(np.complex64)
  params = dataclasses.replace(FULL, capture_rate=rate)
  chain = receiver_chain.ReceiverChain(lambda m: x[m], len(x), 61.44e6, params, input_power=2.0, noise_power=2.0)
  whole = chain.read_windows(np.array([0]), chain.num_samples)[0]
  starts = np.array([0, 7, 1000, chain.num_samples // 2, chain.num_samples - 300])
  windows = chain.read_windows(starts, 300)
  for s, w in zip(starts, windows):
    assert w.tobytes() == whole[s:s + 300].tobytes()
  # The AGC's probe windows, read again, are the capture's samples there (the chain reuses them) and set its gain.
  probes = np.array([5, 4000]), 256
  probed = receiver_chain.ReceiverChain(lambda m: x[m], len(x), 61.44e6, params, input_power=2.0, noise_power=2.0,
                                        agc_windows=lambda n: probes)
  analog = probed.analog_capture(probes[0][:, None] + np.arange(256))
  assert probed.gain == pytest.approx(10 ** (-params.agc_backoff_db / 20) / np.sqrt(np.mean(np.abs(analog) ** 2)))
  again = probed.read_windows(*probes)
  fresh = receiver.quantize(analog * np.float32(probed.gain), params.adc_bits)
  assert again.tobytes() == fresh.tobytes()
  assert probed.read_windows(np.array([5]), 256).tobytes() == again[:1].tobytes()


def test_cascade_equals_the_two_filters_in_turn():
  rng = np.random.default_rng(1)
  x = (rng.normal(size=3000) + 1j * rng.normal(size=3000)).astype(np.complex64)
  first = polyphase.Interpolator((rng.normal(size=9) + 1j * rng.normal(size=9)).astype(np.complex64) / 9, 1)
  then = polyphase.kaiser_lowpass(5 * 64, 0.5 * 5 / 16, 0.1 * 5 / 16, 60.0)  # 61.44 -> 19.2 Msps, a fine clock grid
  positions = np.arange(300, 600) * 16 * 64 + 37  # capture samples, moved by a fraction of a sample
  filtered = first.at(x, 0, np.arange(len(x)))
  expected = then.at(filtered, 0, positions)
  got = polyphase.cascade(first, then).at(x, 0, positions)
  assert np.max(np.abs(got - expected)) < 1e-5 * np.max(np.abs(expected))
  with pytest.raises(ValueError, match='grid 1'):
    polyphase.cascade(then, first)


def test_polyphase_resampler_passes_a_tone_at_unit_gain():
  ratio = polyphase.rate_ratio(61.44e6, 19.2e6)  # 16/5
  n = np.arange(4000)
  f = 6e6
  x = np.exp(2j * np.pi * f / 19.2e6 * n).astype(np.complex64)
  out_index = np.arange(2000, 8000)
  y = polyphase.resampler(ratio).at(x, 0, out_index * ratio.denominator)
  expected = np.exp(2j * np.pi * f / 61.44e6 * out_index)
  assert np.max(np.abs(y - expected)) < 2e-3  # 60 dB stopband, flat passband: within -54 dB
  reference = scipy.signal.resample_poly(x, 16, 5)[out_index]
  assert np.max(np.abs(y - reference)) < 5e-3


@pytest.fixture(scope='module')
def realistic_frame():
  config = scene.SceneConfig.realistic()
  seed = 3
  composed = scene.compose_frame(seed, config)
  params = capture.CaptureConfig().receiver.draw(np.random.default_rng(capture.receiver_seed(seed)))
  return seed, config, composed, params


def test_realistic_example_equals_predict_on_the_written_recording(realistic_frame, tmp_path, monkeypatch):
  from specsense_jax.inference import predict  # pylint: disable=g-import-not-at-top
  seed, config, composed, params = realistic_frame
  # floor-scaled, as realistic_128 images are and as the default model (trained on them) is fed
  example = capture.make_example(seed, config, synthetic.ImageConfig(scaling='floor'))
  samples = capture.SyntheticCapture(composed, params).whole_capture()
  base = str(tmp_path / 'synthetic')
  sigmf.write_metadata(base, 'cf32_le', params.capture_rate, len(samples))
  samples.astype('<c8').tofile(base + '.sigmf-data')
  seen = []

  def record(trained, stream, **unused):
    del trained
    for frame in stream:
      seen.append(frame)
    return iter(())

  monkeypatch.setattr(predict, 'predict_frames', record)
  predict.run_predict([base + '.sigmf-meta'], str(tmp_path / 'out'), figures=False)
  assert len(seen) == 1
  assert seen[0].image.tobytes() == example['image'].tobytes()


def test_no_labels_outside_the_captured_band(realistic_frame):
  seed, config, _, params = realistic_frame
  narrow = receiver.ReceiverConfig.realistic(kinds=(('hackrf', 1.0),), capture_rates=(15.36e6,))
  example = capture.make_example(seed, config, synthetic.ImageConfig(),
                                 capture.CaptureConfig(receiver=narrow))
  columns = (np.arange(128) + 0.5) * constants.MODEL_RATE / 128 - constants.MODEL_RATE / 2
  outside = np.abs(columns) >= 15.36e6 / 2
  for mask in (example['mask'], example['occupancy_mask']):
    assert np.all(mask[:, outside] == constants.NO_LABEL)
    assert np.all(mask[:, ~outside] != constants.NO_LABEL)
  assert example['params']['receiver']['capture_rate'] == 15.36e6
  del params


def test_realistic_example_bytes_are_pinned():
  # The realistic_* datasets hold these bytes, on every CPU (tests/test_portable_math.py): a change here needs a new
  # TFDS version of the builder.
  example = capture.make_example(5, scene.SceneConfig.realistic(), synthetic.ImageConfig(scaling='floor'))
  digest = hashlib.sha256(example['image'].tobytes() + example['mask'].tobytes()
                          + example['occupancy_mask'].tobytes()).hexdigest()
  assert digest[:32] == 'f69e9cbf01494acad470314e350f5c0e'
