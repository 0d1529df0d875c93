"""spectrum_sensing: 40 ms NR / LTE spectrogram images with Noise / NR / LTE pixel labels.

  tfds build tfds_builders/spectrum_sensing --config=synthetic_128 --data_dir=DIR
  tfds build tfds_builders/spectrum_sensing --config=synthetic_128 --data_dir=DIR \
      --beam_pipeline_options="runner=DirectRunner,direct_num_workers=4,direct_running_mode=multi_processing"

Then, after `import tfds_builders.spectrum_sensing`: `tfds.load('spectrum_sensing/synthetic_128', data_dir=DIR)`.
"""

from __future__ import annotations

import dataclasses

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from specsense_jax import spectrogram
from specsense_jax.data import examples
from specsense_jax.data import splits


def _serialize_deterministically(self, example):
  return self.get_tf_example(example).SerializeToString(deterministic=True)


# tf.train.Example's feature map is otherwise serialized in a per-process hash order, so two builds of the same
# data (or a local and a Beam build) would differ in bytes while parsing equal. Sorting the map makes records
# byte-identical across processes and runners; parsing is unaffected.
tfds.core.example_serializer.ExampleSerializer.serialize_example = _serialize_deterministically

_DESCRIPTION = """
Spectrogram images (H x W x 3, parula colormap) of 40 ms frames at 61.44 Msps holding 5G NR, LTE or both,
with a per-pixel label mask (0 Noise, 1 NR, 2 LTE, 3 Unknown). Synthetic configs follow the MathWorks example
"Spectrum Sensing with Deep Learning to Identify 5G and LTE Signals" (NR only, LTE only and NR + LTE frames
in equal shares, SNR U[0, 40] dB, Doppler U[0, 500] Hz, nominal-band labels); captured configs cut SigMF
recordings with carrier annotations into frames.
"""

_MANUAL_DOWNLOAD_INSTRUCTIONS = """
The captured_* configs read SigMF recordings (NAME.sigmf-meta beside NAME.sigmf-data, datatypes ci8, ci16,
cf32, any sample rate and length) whose annotations mark the carriers with core:label NR, LTE or anything else
(Unknown) and core:freq_lower_edge / core:freq_upper_edge. Put them in the manual folder
(default ~/tensorflow_datasets/downloads/manual, or pass --manual_dir). To turn the over-the-air captures that
ship beside this project into such recordings:

  python -m launch.annotate_captures --captures_dir=../shared/realdata/captures \\
      --output=~/tensorflow_datasets/downloads/manual
"""


@dataclasses.dataclass
class SpectrumSensingConfig(tfds.core.BuilderConfig):
  """One thing written to disk: a synthetic frame set or a captured recording set at one image size."""
  kind: str = 'synthetic'
  image_size: int = 128
  num_frames: int = 3000
  seed: int = 0
  spectrogram_mode: str = 'matlab'
  mask_mode: str = 'band'
  scene_overrides: tuple = ()

  def synthetic_spec(self) -> examples.SyntheticSpec:
    return examples.SyntheticSpec(self.num_frames, self.image_size, self.seed, self.spectrogram_mode,
                                          self.mask_mode, tuple(self.scene_overrides))


def _configs():
  common = 'NR only, LTE only and NR + LTE in equal shares, SNR U[0, 40] dB, Doppler U[0, 500] Hz'
  return [
      SpectrumSensingConfig(name='synthetic_128', image_size=128,
                            description=f'3,000 synthetic frames, 128x128, {common}.'),
      SpectrumSensingConfig(name='synthetic_128_average', image_size=128, spectrogram_mode='average',
                            description=f'synthetic_128 (same frames and masks) with average-mode spectrograms '
                            f'(mean PSD per pixel), {common}.'),
      SpectrumSensingConfig(name='synthetic_128_short', image_size=128,
                            scene_overrides=(('short_frames', 0.25), ('short_duration_s', (0.001, 0.02))),
                            description=f'synthetic_128 where a quarter of the frames last 1-20 ms (log-uniform) '
                            f'instead of 40 ms, imaged at the same size: for recordings shorter than a frame; '
                            f'{common}.'),
      SpectrumSensingConfig(name='synthetic_256', image_size=256,
                            description=f'3,000 synthetic frames, 256x256, {common}.'),
      SpectrumSensingConfig(name='synthetic_tiny', image_size=64, num_frames=20,
                            description='20 synthetic 64x64 frames, for tests and smoke runs.'),
      SpectrumSensingConfig(name='synthetic_small', image_size=128, num_frames=400,
                            description=f'400 synthetic frames, 128x128, {common}: the quickstart set.'),
      SpectrumSensingConfig(name='captured_128', kind='captured', image_size=128,
                            description='SigMF recordings from the manual folder, 128x128.'),
      SpectrumSensingConfig(name='captured_256', kind='captured', image_size=256,
                            description='SigMF recordings from the manual folder, 256x256.'),
  ]


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for spectrum_sensing."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_DOWNLOAD_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    return self.dataset_info_from_configs(
        description=_DESCRIPTION,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(size, size, 3), dtype=np.uint8),
            'mask': tfds.features.Image(shape=(size, size, 1), dtype=np.uint8, use_colormap=True,
                                        doc=f'class ids: {dict(spectrogram.CLASS_IDS)}'),
            'snr_db': tfds.features.Scalar(np.float32, doc='frame SNR (NaN for captured frames)'),
            'signals': tfds.features.Tensor(shape=(len(examples.SIGNAL_LABELS),), dtype=np.bool_,
                                            doc=f'present: {examples.SIGNAL_LABELS}'),
            'scene': tfds.features.Text(doc='nr, lte, nr_lte or captured'),
            'params': tfds.features.Text(doc='JSON of every drawn parameter / recording facts'),
            'recording': tfds.features.Text(),
            'frame_index': tfds.features.Scalar(np.int64),
            'valid_fraction': tfds.features.Scalar(np.float32, doc='share of the frame from the recording'),
        }),
        supervised_keys=('image', 'mask'),
        homepage='https://www.mathworks.com/help/comm/ug/spectrum-sensing-with-deep-learning-to-identify-5g-'
                 'and-lte-signals.html',
    )

  def _generate_splits(self, dl_manager, download_config):
    # Beam is used when the user asked for it (`--beam_pipeline_options` / a beam runner); otherwise
    # local worker processes. Both produce the same records.
    self._use_beam = bool(download_config.beam_options or download_config.beam_runner)
    return super()._generate_splits(dl_manager, download_config)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    if config.kind == 'captured':
      by_split = examples.captured_examples(str(dl_manager.manual_dir), config.image_size,
                                                    config.spectrogram_mode)
      empty = [split for split, examples in by_split.items() if not examples]
      if empty:  # a few short recordings need not fill every split; TFDS cannot write an empty one
        logging.warning('spectrum_sensing/%s: no frames fall in split(s) %s; they are not written',
                        config.name, empty)
      return {split: iter(examples) for split, examples in by_split.items() if examples}
    spec = config.synthetic_spec()
    indices = {s: [i for i in range(spec.num_frames) if splits.split_of(i) == s]
               for s in splits.SPLITS}
    return {split: self._generate_examples(spec, idx) for split, idx in indices.items()}

  def _generate_examples(self, spec, indices):
    if getattr(self, '_use_beam', False):
      beam = tfds.core.lazy_imports.apache_beam
      return beam.Create(indices) | beam.Map(lambda i, s=spec: examples.synthetic_example(s, i))
    return examples.synthetic_examples(spec, indices)
