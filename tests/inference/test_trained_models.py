"""The shipped model loads and segments fresh synthetic frames; packaging a workdir round-trips exactly."""

import json

import flax.serialization
import jax
import numpy as np
import pytest

from specsense_jax import metrics
from specsense_jax import synthetic
from specsense_jax.inference import trained_models
from specsense_jax.training import checkpoints


@pytest.mark.parametrize('name,mode,accuracy,iou', [
    ('custom_synthetic_128', 'matlab', 0.97, 0.9), ('custom_synthetic_128_short', 'matlab', 0.97, 0.9),
    ('custom_synthetic_128_average', 'average', 0.97, 0.9), ('custom_realistic_128', 'matlab', 0.97, 0.9),
    # parity frames floor-scaled as predict feeds it: 0.89 / 0.75 here (0.968 / 0.913 min-max, its card)
    ('deeplabv3plus_resnet18_realistic_128', 'matlab', 0.85, 0.7),
    # six classes: 0.827 / 0.50 (LTE) here, 0.943 / 0.80 on the next 24 such frames (parity test split: 0.970 /
    # 0.921, its card); the stem-2 network it replaced: 0.936 / 0.85 here
    ('custom_realistic_128_wlan_radar', 'matlab', 0.8, 0.45)])
def test_shipped_models_segment_unseen_frames(name, mode, accuracy, iou):
  trained = trained_models.load(name)
  assert trained.name == name and trained.image_size == 128 and trained.spectrogram_mode == mode
  # seeds far from the dataset's: frames the model never saw, imaged as predict feeds the model
  image_config = synthetic.ImageConfig(spectrogram_mode=mode, scaling=trained.image_scaling)
  examples = [synthetic.make_example(10_000_000 + i, image_config=image_config) for i in range(6)]
  images = np.stack([e['image'] for e in examples]).astype(np.float32) / 255.0
  logits = jax.jit(trained.model.apply, static_argnames='train')(trained.variables, images, train=False)
  predicted = np.asarray((logits + trained.log_prior).argmax(-1))  # with its class prior, as predict applies it
  # in the model's own classes: the realistic model also has Unknown, absent from these (parity) frames
  result = metrics.segmentation_metrics(np.stack([e['mask'] for e in examples]), predicted, len(trained.class_names))
  assert result['global_accuracy'] > accuracy and min(result['class_iou'][:3]) > iou


def test_default_model_and_modes():
  assert trained_models.load().name == trained_models.DEFAULT == 'custom_realistic_128'
  assert trained_models.shipped_names('average') == ['custom_synthetic_128_average']
  assert trained_models.config_spectrogram_mode({'spectrogram_mode': 'average'}) == 'average'
  assert trained_models.config_spectrogram_mode({'dataset': 'spectrum_sensing/synthetic_128'}) == 'matlab'
  assert trained_models.load().class_names == ('Noise', 'NR', 'LTE', 'Unknown')
  assert trained_models.load().image_scaling == 'floor' and trained_models.load().temperature == 1.0
  # The synthetic models predate recorded class names: three outputs, the MathWorks classes.
  assert trained_models.load('custom_synthetic_128_short').class_names == ('Noise', 'NR', 'LTE')
  six = trained_models.load('custom_realistic_128_wlan_radar')
  assert six.class_names == ('Noise', 'NR', 'LTE', 'Unknown', 'WLAN', 'Radar') and six.band_plan
  # its radar prior (evaluation.class_prior): radar called a fifth as readily as its weighted training taught
  np.testing.assert_allclose(np.exp(six.log_prior), [1, 1, 1, 1, 1, 0.2], rtol=1e-6)
  assert trained_models.load().log_prior.shape == () and trained_models.load().log_prior == 0  # none: adds nothing
  assert not trained_models.load().band_plan


def test_package_round_trip_and_errors(tiny_config, tmp_path):
  from specsense_jax.training import train  # pylint: disable=g-import-not-at-top
  workdir = tmp_path / 'run'
  train.train_and_evaluate(tiny_config(max_steps=2), str(workdir))
  (workdir / 'captures').mkdir()  # launch.evaluate_captures --output=WORKDIR/captures: the per-capture table
  (workdir / 'captures' / 'captures.md').write_text('| model | recording |\n')
  packaged = trained_models.package(str(workdir), str(tmp_path / 'packaged'))
  assert (tmp_path / 'packaged' / 'captures.md').read_text() == '| model | recording |\n'
  assert not (tmp_path / 'packaged' / 'captures.json').exists()  # copied only where the workdir has it
  loaded, from_workdir = trained_models.load(packaged), trained_models.load(str(workdir))
  assert loaded.config.data_dir is None and loaded.config.spectrogram_mode == from_workdir.spectrogram_mode == 'matlab'
  assert loaded.config.class_names == ['Noise', 'NR', 'LTE'] and loaded.class_names == from_workdir.class_names
  images = np.random.default_rng(0).uniform(size=(2, 64, 64, 3)).astype(np.float32)
  # float16 on disk: the weights round to 11 significant bits, the class scores move by ~1e-3
  stored = flax.serialization.msgpack_restore((tmp_path / 'packaged' / 'variables.msgpack').read_bytes())
  assert {leaf.dtype for leaf in jax.tree.leaves(stored)} == {np.dtype(np.float16)}
  logits, reference = (m.model.apply(m.variables, images) for m in (loaded, from_workdir))
  np.testing.assert_allclose(logits, reference, atol=2e-2 * float(np.abs(reference).max()))
  assert np.mean(np.argmax(logits, -1) == np.argmax(reference, -1)) > 0.99
  restored = checkpoints.restore_variables(str(workdir))  # the best checkpoint, without an optimizer
  for a, b in zip(jax.tree.leaves(loaded.variables), jax.tree.leaves(restored), strict=True):
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, np.asarray(b).astype(np.float16).astype(np.float32))
  with pytest.raises(ValueError, match='exists; choose a new folder'):
    trained_models.package(str(workdir), packaged)
  with pytest.raises(ValueError, match=r"neither a packaged model folder nor a shipped model; shipped: "
                                       r"\['custom_realistic_128', 'custom_realistic_128_wlan_radar', "
                                       r"'custom_synthetic_128', "
                                       r"'custom_synthetic_128_average', 'custom_synthetic_128_short', "
                                       r"'deeplabv3plus_resnet18_realistic_128'\]"):
    trained_models.load('no_such_model')
  (tmp_path / 'mismatched').mkdir()  # a config whose class count and class names disagree
  config = json.loads((tmp_path / 'packaged' / 'config.json').read_text())
  (tmp_path / 'mismatched' / 'config.json').write_text(json.dumps({**config, 'num_classes': 4}))
  (tmp_path / 'mismatched' / 'variables.msgpack').write_bytes(b'')
  with pytest.raises(ValueError, match=r"config records num_classes 4 but 3 class_names \('Noise', 'NR', 'LTE'\)"):
    trained_models.load(str(tmp_path / 'mismatched'))
  (tmp_path / 'broken').mkdir()
  (tmp_path / 'broken' / 'config.json').write_text((tmp_path / 'packaged' / 'config.json').read_text())
  (tmp_path / 'broken' / 'variables.msgpack').write_bytes(b'\x93\x01')
  with pytest.raises(ValueError, match='variables.msgpack: not the variables of custom'):
    trained_models.load(str(tmp_path / 'broken'))
