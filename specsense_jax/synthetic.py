"""Synthetic training examples: a drawn frame -> spectrogram image + label mask (+ metadata).

In `matlab` mode only the samples the image reads are rendered (about 1 % of a 40 ms frame), which is what
makes dataset generation cheap; the values equal those of the whole rendered frame.
"""

from __future__ import annotations

import dataclasses
from typing import Any


from specsense_jax import spectrogram
from specsense_jax.signals import scene


@dataclasses.dataclass(frozen=True)
class ImageConfig:
  """How frames become images and masks."""
  size: tuple[int, int] = (128, 128)
  spectrogram_mode: str = 'matlab'
  mask_mode: str = 'band'
  colormap: str = 'parula'
  scaling: str = 'minmax'

  def validate(self) -> 'ImageConfig':
    spectrogram._check_size(self.size)  # pylint: disable=protected-access
    if self.spectrogram_mode not in spectrogram.SPECTROGRAM_MODES:
      raise ValueError(f'spectrogram_mode must be one of {spectrogram.SPECTROGRAM_MODES}, '
                       f'got {self.spectrogram_mode!r}')
    if self.mask_mode not in spectrogram.MASK_MODES:
      raise ValueError(f'mask_mode must be one of {spectrogram.MASK_MODES}, got {self.mask_mode!r}')
    if self.colormap not in spectrogram.COLORMAPS:
      raise ValueError(f'colormap must be one of {spectrogram.COLORMAPS}, got {self.colormap!r}')
    if self.scaling not in spectrogram.SCALINGS:
      raise ValueError(f'scaling must be one of {sorted(spectrogram.SCALINGS)}, got {self.scaling!r}')
    return self


def make_example(seed, scene_config: scene.SceneConfig | None = None,
                 image_config: ImageConfig | None = None) -> dict[str, Any]:
  """One labelled example.

  Args:
    seed: the frame's seed (int, ints or SeedSequence).
    scene_config: what the frame may contain.
    image_config: image size, spectrogram and mask modes.

  Returns:
    {'image': uint8 (H, W, 3), 'mask': uint8 (H, W), 'snr_db': float, 'annotations': [...],
     'params': {...}}.
  """
  image_config = (image_config or ImageConfig()).validate()
  scene_config = scene_config or scene.SceneConfig()
  if scene_config.occupancy_cells != (image_config.mask_mode == 'occupancy'):
    scene_config = dataclasses.replace(scene_config, occupancy_cells=image_config.mask_mode == 'occupancy')
  composed = scene.compose_frame(seed, scene_config)
  height, width = image_config.size
  if image_config.spectrogram_mode == 'matlab':
    indices = spectrogram.matlab_sample_indices(composed.num_samples, height)
    psd_db = spectrogram.matlab_psd_db_from_segments(composed.render(indices), composed.sample_rate, width)
  else:
    psd_db = spectrogram.spectrogram_db(composed.render(), composed.sample_rate, image_config.size, 'average')
  image = spectrogram.colorize(spectrogram.grey_levels(psd_db, image_config.scaling), image_config.colormap)
  mask = spectrogram.label_mask(composed.annotations, composed.sample_rate, composed.num_samples,
                                image_config.size, image_config.mask_mode,
                                spectrogram_mode=image_config.spectrogram_mode)
  return {'image': image, 'mask': mask, 'snr_db': composed.snr_db, 'annotations': composed.annotations,
          'params': composed.params}
