"""Synthetic captures: a composed frame through a receiver, as a recording, imaged by inference's own path.

A realistic training frame is what a real capture would be: the scene (`signals.scene`) goes through a receiver
(`signals.receiver_chain`: impairments, anti-alias filter, capture rate, AGC, ADC) into a `SyntheticCapture`, which
is a `recordings.Recording` at the capture rate; `frames.recording_frames` then makes its image exactly as
`launch.predict` makes one from a recording file (resampling to the model's rate, floor fill of the band the
capture lacks, no labels there). The capture renders only the samples those images read (its AGC settles on the
windows the frames path measures the noise floor on, so those are rendered once), and its bytes equal those of the
whole capture written to a file (`whole_capture`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from specsense_jax import frames
from specsense_jax import synthetic
from specsense_jax.io import recordings
from specsense_jax.signals import receiver
from specsense_jax.signals import receiver_chain
from specsense_jax.signals import scene
from specsense_jax.signals import waveform as waveform_lib

RECEIVER_CHILD = 15  # the seed child of a frame's receiver draw (scene draws use the first children)
RECEIVER_PRESETS = {'realistic': receiver.ReceiverConfig.realistic}


def receiver_seed(seed) -> np.random.SeedSequence:
  """The frame seed's child that draws its receiver, independent of every scene draw."""
  parent = waveform_lib.seed_sequence(seed)
  return np.random.SeedSequence(parent.entropy, spawn_key=tuple(parent.spawn_key) + (RECEIVER_CHILD,))


def _scale_annotation(ann: dict[str, Any], ratio: float) -> dict[str, Any]:
  out = {k: v for k, v in ann.items() if k not in ('occupancy', 'ssb_starts')}
  out['sample_start'] = int(round(ann['sample_start'] * ratio))
  out['sample_count'] = max(1, int(round(ann['sample_count'] * ratio)))
  cells = ann.get('occupancy')
  if cells is not None:
    cells = np.array(cells, np.float64).reshape(-1, 4)
    cells[:, :2] *= ratio
    out['occupancy'] = cells
  return out


class SyntheticCapture:
  """A composed frame through a receiver, readable as a `recordings.Recording` at the capture rate.

  Args:
    composed: the drawn frame (`scene.compose_frame`).
    params: the receiver.
    name: the recording's name (it keys the frames path's fill noise).
  """

  def __init__(self, composed: scene.ComposedFrame, params: receiver.ReceiverParams, name: str = 'synthetic'):
    noise_power = composed.noise_std * composed.noise_std
    self.chain = receiver_chain.ReceiverChain(composed.render, composed.num_samples, composed.sample_rate, params,
                                              input_power=composed.signal_power() + noise_power,
                                              noise_power=noise_power,
                                              agc_windows=lambda n: frames.floor_windows(n, params.capture_rate))
    self.params = params
    self.name = self.path = name
    self.sample_rate = float(params.capture_rate)
    self.num_samples = self.chain.num_samples
    self.segments = (recordings.Segment(0, self.num_samples, 0.0),)
    ratio = self.num_samples / composed.num_samples
    self.annotations = [_scale_annotation(a, ratio) for a in composed.annotations]

  @property
  def center_frequency(self) -> float:
    return 0.0

  def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
    count = self.num_samples - start if count is None else count
    return self.chain.read_windows(np.array([start]), count)[0]

  def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
    return self.chain.read_windows(np.asarray(starts, np.int64), length)

  def whole_capture(self) -> np.ndarray:
    """complex64: every captured sample, as a recording file of this capture would hold them."""
    return self.read(0, self.num_samples)


@dataclasses.dataclass(frozen=True)
class CaptureConfig:
  """How a realistic frame is captured and imaged."""
  receiver: receiver.ReceiverConfig = dataclasses.field(default_factory=receiver.ReceiverConfig.realistic)
  fill_seed: int = 0


def make_example(seed, scene_config: scene.SceneConfig, image_config: synthetic.ImageConfig | None = None,
                 capture_config: CaptureConfig | None = None) -> dict[str, Any]:
  """One labelled example made the way inference images a recording.

  Args:
    seed: the frame's seed (int, ints or SeedSequence).
    scene_config: what the frame may contain.
    image_config: image size, spectrogram and mask modes, colormap, scaling.
    capture_config: the receiver family the capture is drawn from.

  Returns:
    {'image': uint8 (H, W, 3), 'mask': uint8 (H, W) in `image_config.mask_mode`, 'occupancy_mask': uint8 (H, W),
     'snr_db', 'annotations' (in frame samples, clipped to the capture), 'params' (the scene's and 'receiver'),
     'valid_fraction'}. Both masks hold `NO_LABEL` where the capture has no band or no time.
  """
  image_config = (image_config or synthetic.ImageConfig()).validate()
  capture_config = capture_config or CaptureConfig()
  if not scene_config.occupancy_cells:
    scene_config = dataclasses.replace(scene_config, occupancy_cells=True)
  composed = scene.compose_frame(seed, scene_config)
  params = capture_config.receiver.draw(np.random.default_rng(receiver_seed(seed)))
  capture = SyntheticCapture(composed, params)
  frame = next(frames.recording_frames(capture, image_config.size, image_config.spectrogram_mode,
                                       image_config.colormap, seed=capture_config.fill_seed,
                                       scaling=image_config.scaling))
  band = frames.label_mask(frame, 'band', image_config.spectrogram_mode)
  occupancy = frames.label_mask(frame, 'occupancy', image_config.spectrogram_mode)
  return {'image': frame.image, 'mask': band if image_config.mask_mode == 'band' else occupancy,
          'occupancy_mask': occupancy, 'snr_db': composed.snr_db, 'annotations': frame.annotations,
          'params': {**composed.params, 'receiver': params.to_dict()}, 'valid_fraction': frame.valid_fraction}
