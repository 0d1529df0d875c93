"""Synthetic examples: the sparse fast path equals the whole-frame pipeline."""

import numpy as np
import pytest

from specsense_jax import spectrogram
from specsense_jax import synthetic
from specsense_jax.signals import generate_frame
from specsense_jax.signals import SceneConfig


@pytest.mark.parametrize('size,spec_mode,mask_mode', [((128, 128), 'matlab', 'band'),
                                                      ((256, 256), 'matlab', 'occupancy'),
                                                      ((64, 128), 'average', 'band')])
def test_example_equals_whole_frame_pipeline(size, spec_mode, mask_mode):
  scene_config = SceneConfig(occupancy_cells=True)
  example = synthetic.make_example(17, scene_config, synthetic.ImageConfig(size, spec_mode, mask_mode))
  frame = generate_frame(17, scene_config)
  np.testing.assert_array_equal(example['image'],
                                spectrogram.spectrogram_image(frame.iq, frame.sample_rate, size, spec_mode))
  np.testing.assert_array_equal(
      example['mask'], spectrogram.label_mask(frame.annotations, frame.sample_rate, len(frame.iq), size, mask_mode,
                                              spectrogram_mode=spec_mode))
  assert example['image'].shape == size + (3,) and example['mask'].shape == size
  assert example['snr_db'] == frame.snr_db


def test_bad_image_config():
  with pytest.raises(ValueError, match='spectrogram_mode'):
    synthetic.make_example(0, image_config=synthetic.ImageConfig(spectrogram_mode='stft'))
  with pytest.raises(ValueError, match='mask_mode'):
    synthetic.make_example(0, image_config=synthetic.ImageConfig(mask_mode='energy'))
