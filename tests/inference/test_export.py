"""jax.export round trip: the serialized inference function gives exactly the in-process masks."""

import json
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from specsense_jax import synthetic
from specsense_jax.inference import export
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models


def test_exported_default_model_gives_identical_masks(tmp_path, repo_dir):
  path = tmp_path / 'model.jaxexport'
  proc = subprocess.run([sys.executable, '-m', 'launch.export', f'--output={path}'], cwd=repo_dir,
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'custom, 128x128' in proc.stdout and (tmp_path / 'model.jaxexport.json').exists()
  exported = export.load(str(path))
  trained = trained_models.load()
  reference = jax.jit(export.inference_fn(trained))
  for batch in (1, 3):  # the batch size is symbolic
    images = np.stack([synthetic.make_example(500 + i)['image'] for i in range(batch)]).astype(np.float32) / 255
    masks, probabilities = exported.call(images)
    expected_masks, expected_probabilities = reference(images)
    np.testing.assert_array_equal(masks, expected_masks)
    np.testing.assert_allclose(probabilities, expected_probabilities, rtol=1e-6, atol=1e-7)


def test_bad_files_and_platforms(tmp_path):
  (tmp_path / 'junk').write_bytes(b'not a model')
  with pytest.raises(ValueError, match='junk: not a jax.export serialization'):
    export.load(str(tmp_path / 'junk'))
  with pytest.raises(ValueError, match='exported model not found'):
    export.load(str(tmp_path / 'missing'))
  with pytest.raises(ValueError, match=r"--platforms: unknown \['gpu'\]"):
    export.export(trained_models.load(), ['gpu'])


def test_exported_probabilities_carry_the_temperature_and_class_prior(tmp_path):
  model_dir = tmp_path / 'model'
  shutil.copytree(trained_models.resolve(trained_models.DEFAULT), model_dir)
  trained_models.update_packaged_config(str(model_dir), {'calibration_temperature': 2.0,
                                                         'class_prior': {'NR': 3.0, 'LTE': 0.5}})
  trained = trained_models.load(str(model_dir))
  exported = export.export(trained)
  images = np.stack([synthetic.make_example(700 + i)['image'] for i in range(2)])
  masks, probabilities = exported.call(images.astype(np.float32) / 255)
  expected = predict.image_probabilities(trained, images)  # softmax(z / 2 + log prior), as predict gives it
  np.testing.assert_allclose(probabilities, expected, atol=1e-5)
  sure = np.sort(expected, -1)[..., -1] - np.sort(expected, -1)[..., -2] > 1e-3  # no near-ties to flip
  np.testing.assert_array_equal(np.asarray(masks)[sure], np.argmax(expected, -1)[sure])
  export.save(exported, str(tmp_path / 'm.jaxexport'), trained)
  info = json.loads((tmp_path / 'm.jaxexport.json').read_text())
  assert info['class_prior'] == {'NR': 3.0, 'LTE': 0.5} and info['calibration_temperature'] == 2.0
