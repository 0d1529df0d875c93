"""spectrum_sensing: 40 ms NR / LTE spectrogram images with Noise / NR / LTE (and Unknown) pixel labels.

  tfds build tfds_builders/spectrum_sensing --config=synthetic_128 --data_dir=DIR
  tfds build tfds_builders/spectrum_sensing --config=synthetic_128 --data_dir=DIR \
      --beam_pipeline_options="runner=DirectRunner,direct_num_workers=4,direct_running_mode=multi_processing"

Then, after `import tfds_builders.spectrum_sensing`: `tfds.load('spectrum_sensing/synthetic_128', data_dir=DIR)`.

Nothing of TFDS is patched: records are made byte-identical by this builder's own record writer
(`writers.DeterministicExampleWriter`, see the README's "Generation").
"""

from __future__ import annotations

import dataclasses
from typing import Any

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from specsense_jax import constants
from specsense_jax.data import examples
from specsense_jax.data import mathworks
from specsense_jax.data import splits
from tfds_builders import writers


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

The mathworks_* configs read an unzipped MathWorks download (SpectrumSensingTrainingData128x128.zip,
...256x256.zip, SpectrumSensingCapturedData*.zip, their *_2025 versions): PNG spectrograms with HDF4 label files
of the same name, found at any depth (training configs skip `captured` folders, captured configs read only
them). Unzip it into the manual folder (or pass --manual_dir=FOLDER), one download per folder:

  tfds build tfds_builders/spectrum_sensing --config=mathworks_128 --manual_dir=FOLDER --data_dir=DIR
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
  scene_preset: str = 'matlab'
  # The classes of the masks (ids 0..K-1, see constants.check_class_names); models trained on the set take
  # their class count from it (`builder.info.metadata['class_names']`).
  class_names: tuple = constants.MATHWORKS_CLASSES
  # Realistic configs: frames go through a drawn receiver and inference's recording-to-frames path
  # (capture.make_example), imaged with `scaling`, and carry the occupancy truth as a second mask.
  receiver_preset: str = ''
  scaling: str = 'minmax'
  occupancy_mask: bool = False
  # MathWorks configs (kind 'mathworks' or 'mathworks_captured'): the label versions a download may be
  # (data.mathworks.LABEL_VALUES); the build detects which from the values present and records its classes.
  label_versions: tuple = ()

  def synthetic_spec(self) -> examples.SyntheticSpec:
    return examples.SyntheticSpec(self.num_frames, self.image_size, self.seed, self.spectrogram_mode,
                                  self.mask_mode, tuple(self.scene_overrides), self.scene_preset,
                                  self.receiver_preset, self.scaling, self.occupancy_mask, tuple(self.class_names))


# A quarter of the frames 1-20 ms (log-uniform) long, imaged at the frame size: recordings shorter than a frame.
_SHORT = (('short_frames', 0.25), ('short_duration_s', (0.001, 0.02)))
# Loads drawn against the standards' density: SceneConfig.realistic() draws both alike, and a network trained on
# them calls a fifth to a third of loaded NR LTE (idle NR is sparse, even idle LTE sends CRS everywhere).
_LOAD_BALANCED = (('nr_load', (('idle', 0.1), ('light', 0.15), ('medium', 0.25), ('heavy', 0.3), ('full', 0.15),
                               ('matlab', 0.05))),
                  ('lte_load', (('idle', 0.45), ('light', 0.22), ('medium', 0.15), ('heavy', 0.1), ('full', 0.03),
                                ('thinned', 0.05))))

# n77/n78 carriers of 70-100 MHz, the commonest 5G deployment, are wider than a 61.44 Msps frame: without them a
# frame filled edge to edge is always several carriers side by side, often LTE among them.
_WIDE = (('nr_wide_share', 0.2),)
# The 100 MHz n78 capture is both: 1 ms of a carrier wider than the frame. In 1 ms the resource blocks no UE is
# scheduled on stay dark down the whole frame and cut the carrier into LTE-wide blocks; in 40 ms frames they move
# from row to row. Half the frames short and two fifths of the NR frames wide: a tenth of the frames are both.
_WIDE_SHORT = (('short_frames', 0.5), ('short_duration_s', (0.001, 0.02)), ('nr_wide_share', 0.4))

# A fifth of WLAN channels and radars over a carrier; one drawn for free spectrum that finds none is left out
# rather than moved over a carrier (which made 58 % of them co-channel).
_BURSTY_APART = (('bursty_cochannel_share', 0.2), ('bursty_cochannel_fallback', False))
# Radar is 0.02 % of realistic_128_wlan_radar_wide_short's pixels (a row reads 4 µs every 312 µs of a 40 ms frame,
# so most pulses fall between reads): one to three emitters in every frame, seven in ten of them radars.
# Packets and pulses labelled where a row shows them (`SceneConfig.bursty_visible_labels`).
_RADAR_RICH = (('bursty_counts', ((1, 0.4), (2, 0.4), (3, 0.2))), ('bursty_kinds', (('wlan', 0.3), ('radar', 0.7))),
               ('bursty_visible_labels', True))


# realistic_128_wlan_radar_rich alone moved on: the other configs keep the builder's version and their bytes.
_RICH_VERSION = '1.6.0'
_RICH_RELEASE_NOTES = {
    '1.6.0': 'An unchirped radar pulse is labelled, in each read that shows it, over the columns where its spectrum '
             '(`scene_bursty.pulse_spread`) stands over the noise: a strong pulse\'s edges light bands far beyond '
             'its main lobe, which were labelled Noise; beyond the main lobe it labels no carrier\'s pixels.',
    '1.5.0': 'Initial release of the config.'}


def _configs():
  common = 'NR only, LTE only and NR + LTE in equal shares, SNR U[0, 40] dB, Doppler U[0, 500] Hz'
  realistic = ('cells as deployed networks send them: NR mostly TDD at 30 kHz, LTE FDD and TDD with 1, 2 or 4 CRS '
               'ports, loads from idle to full, SSB on the synchronization raster, several carriers per standard, '
               'carriers cut by the frame edge, interferers (Unknown), TDL/EPA/EVA/ETU fading; through a drawn '
               'HackRF- or USRP-like receiver at 15.36-61.44 Msps and the recording-to-frames path of inference; '
               'four classes; `mask` band truth and `occupancy_mask`; ' + common)
  captured_like = dict(scene_preset='realistic', class_names=constants.FOUR_CLASSES, receiver_preset='realistic',
                       scaling='floor', occupancy_mask=True)
  wlan_like = dict(scene_preset='realistic_wlan', class_names=constants.FIVE_CLASSES)
  radar_like = dict(scene_preset='realistic_bursty', class_names=constants.SIX_CLASSES)
  emitters = ('PSD -10..+10 dB from the strongest carrier\'s, each packet or pulse labelled in the rows whose read '
              'window it overlaps')
  bursty = f'0-2 emitters a frame, a third of them over a carrier, {emitters}'
  return [
      SpectrumSensingConfig(name='synthetic_128', image_size=128,
                            description=f'3,000 synthetic frames, 128x128, {common}.'),
      SpectrumSensingConfig(name='synthetic_128_average', image_size=128, spectrogram_mode='average',
                            description=f'synthetic_128 (same frames and masks) with average-mode spectrograms '
                            f'(mean PSD per pixel), {common}.'),
      SpectrumSensingConfig(name='synthetic_128_short', image_size=128,
                            scene_overrides=_SHORT,
                            description=f'synthetic_128 where a quarter of the frames last 1-20 ms (log-uniform) '
                            f'instead of 40 ms, imaged at the same size: for recordings shorter than a frame; '
                            f'{common}.'),
      SpectrumSensingConfig(name='synthetic_256', image_size=256,
                            description=f'3,000 synthetic frames, 256x256, {common}.'),
      SpectrumSensingConfig(name='realistic_128', image_size=128, **captured_like,
                            description=f'3,000 frames of SceneConfig.realistic(), 128x128, floor-scaled images: {realistic}.'),
      SpectrumSensingConfig(name='realistic_256', image_size=256, **captured_like,
                            description=f'3,000 frames of SceneConfig.realistic(), 256x256, floor-scaled images: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_large', image_size=128, num_frames=12000, seed=1, **captured_like,
                            description=f'12,000 frames of SceneConfig.realistic(), 128x128, floor-scaled, drawn with '
                            f'seed 1 (none of them is a frame of realistic_128, whose test split stays unseen): '
                            f'{realistic}.'),
      SpectrumSensingConfig(name='realistic_128_short', image_size=128, **captured_like,
                            scene_overrides=_SHORT,
                            description=f'realistic_128 where a quarter of the frames last 1-20 ms (log-uniform), '
                            f'imaged at the same size, floor-scaled: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_load_balanced', image_size=128, **captured_like,
                            scene_overrides=_LOAD_BALANCED,
                            description=f'realistic_128 with NR mostly loaded and LTE mostly idle (NR idle 10 %, '
                            f'medium to full 70 %; LTE idle 45 %, medium to full 28 %), so that how densely a '
                            f'carrier is filled does not tell the standard: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wide', image_size=128, **captured_like, scene_overrides=_WIDE,
                            description=f'realistic_128 where a fifth of the frames holding NR are instead a window '
                            f'onto one NR carrier of 70-100 MHz at 30 kHz, wider than the frame (covering at least '
                            f'half of it, one edge or none in view): {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wide_short', image_size=128, **captured_like,
                            scene_overrides=_WIDE_SHORT,
                            description=f'realistic_128 where half the frames last 1-20 ms (log-uniform) and two '
                            f'fifths of the frames holding NR are a window onto one NR carrier of 70-100 MHz at 30 '
                            f'kHz, wider than the frame (a tenth of the frames both, as a 1 ms n78 capture is): '
                            f'{realistic}.'),
      SpectrumSensingConfig(name='realistic_128_minmax', image_size=128, **{**captured_like, 'scaling': 'minmax'},
                            description=f'realistic_128 (same frames and masks) imaged with min-max scaling, as '
                            f'MATLAB and the parity configs image theirs: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wlan', image_size=128, **{**captured_like, **wlan_like},
                            description=f'3,000 frames of realistic scenes with 802.11 traffic (non-HT, HT, VHT, HE '
                            f'SU at 20/40 MHz: {bursty}), five classes (Noise, NR, LTE, Unknown, WLAN), 128x128: '
                            f'{realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wlan_radar', image_size=128, **{**captured_like, **radar_like},
                            description=f'3,000 frames of realistic scenes with 802.11 traffic and pulsed radar '
                            f'({bursty}), six classes (Noise, NR, LTE, Unknown, WLAN, Radar), 128x128: '
                            f'{realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wlan_radar_short', image_size=128,
                            **{**captured_like, **radar_like},
                            scene_overrides=_SHORT + _BURSTY_APART,
                            description=f'realistic_128_wlan_radar where a quarter of the frames last 1-20 ms '
                            f'(log-uniform), imaged at the same size (packets and SSB bursts as tall as a 1 ms '
                            f'recording shows them), and a fifth of the emitters over a carrier (one drawn for '
                            f'free spectrum that finds none is left out, not moved over a carrier); six classes, '
                            f'0-2 emitters a frame, {emitters}: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wlan_radar_wide_short', image_size=128,
                            **{**captured_like, **radar_like},
                            scene_overrides=_WIDE_SHORT + _BURSTY_APART,
                            description=f'realistic_128_wlan_radar on the scenes of realistic_128_wide_short (half '
                            f'the frames 1-20 ms, two fifths of the NR frames a window onto a 70-100 MHz carrier: '
                            f'loaded NR blocks as tall and wide as packets), a fifth of the emitters over a carrier; '
                            f'six classes, 0-2 emitters a frame, {emitters}: {realistic}.'),
      SpectrumSensingConfig(name='realistic_128_wlan_radar_rich', image_size=128, seed=2,
                            version=_RICH_VERSION, release_notes=_RICH_RELEASE_NOTES,
                            **{**captured_like, **radar_like},
                            scene_overrides=_WIDE_SHORT + _BURSTY_APART + _RADAR_RICH,
                            description=f'realistic_128_wlan_radar_wide_short\'s scenes (drawn from seed 2) with one '
                            f'to three emitters in every frame, seven in ten of them radars; six classes, {emitters}: '
                            f'{realistic}.'),
      SpectrumSensingConfig(name='synthetic_256_wlan', image_size=256, scene_preset='matlab_wlan',
                            class_names=constants.FIVE_CLASSES,
                            description=f'3,000 frames, 256x256, the MathWorks 2025 mix: {common}, three quarters '
                            f'of them with an HE SU WLAN channel (20 or 40 MHz, TGn/TGax B-E) in free spectrum, '
                            f'labelled in the rows where a packet is; Noise, NR, LTE, WLAN (Unknown unused).'),
      SpectrumSensingConfig(name='realistic_tiny_wlan_radar', image_size=64, num_frames=20,
                            **{**captured_like, **radar_like},
                            description='20 realistic 64x64 frames with WLAN and radar (six classes), for tests.'),
      SpectrumSensingConfig(name='synthetic_tiny', image_size=64, num_frames=20,
                            description='20 synthetic 64x64 frames, for tests and smoke runs.'),
      SpectrumSensingConfig(name='realistic_tiny', image_size=64, num_frames=20, **captured_like,
                            description='20 realistic 64x64 floor-scaled frames (as realistic_128), for tests and smoke runs.'),
      SpectrumSensingConfig(name='synthetic_small', image_size=128, num_frames=400,
                            description=f'400 synthetic frames, 128x128, {common}: the quickstart set.'),
      *_mathworks_configs(),
      SpectrumSensingConfig(name='captured_128', kind='captured', image_size=128,
                            class_names=constants.FOUR_CLASSES,  # other labels are Unknown
                            description='SigMF recordings from the manual folder, 128x128.'),
      SpectrumSensingConfig(name='captured_256', kind='captured', image_size=256,
                            class_names=constants.FOUR_CLASSES,  # other labels are Unknown
                            description='SigMF recordings from the manual folder, 256x256.'),
  ]


def _mathworks_configs():
  old, new = ('2021', '2023'), ('2025',)
  versions = ('three classes (2021: Noise 0, NR 127, LTE 255) or four (2023-24: Noise 0, NR 85, LTE 170, Unknown '
              '255), detected from the label values')
  wlan = 'five classes (Noise 0, NR 63, LTE 127, WLAN 191, Unknown 255)'
  made = []
  for name, size, kind, label_versions, what in (
      ('mathworks_128', 128, 'mathworks', old, f'MathWorks training data at 128x128, {versions}'),
      ('mathworks_256', 256, 'mathworks', old, f'MathWorks training data at 256x256, {versions}'),
      ('mathworks_captured_128', 128, 'mathworks_captured', old, f'MathWorks captured frames, 128x128, {versions}'),
      ('mathworks_captured_256', 256, 'mathworks_captured', old, f'MathWorks captured frames, 256x256, {versions}'),
      ('mathworks_2025_256', 256, 'mathworks', new, f'MathWorks 2025 training data (NR, LTE, WLAN), 256x256, {wlan}'),
      ('mathworks_2025_captured_256', 256, 'mathworks_captured', new,
       f'MathWorks 2025 captured frames, 256x256, {wlan}')):
    classes = mathworks.class_names(label_versions[-1])
    split = ('whole captures to one split (a capture: the file name without _frame_N)'
             if kind == 'mathworks_captured' else '80/10/10 by a hash of the file path')
    made.append(SpectrumSensingConfig(name=name, kind=kind, image_size=size, label_versions=label_versions,
                                      class_names=classes,
                                      description=f'{what}, read from an unzipped download in the manual folder; '
                                      f'{split}.'))
  return made


def _mathworks_features(size: int, class_names) -> dict[str, tfds.features.FeatureConnector]:
  return {
      'signals': tfds.features.Tensor(shape=(len(examples.signal_labels(class_names)),), dtype=np.bool_,
                                      doc=f'present in the mask: {examples.signal_labels(class_names)}'),
      'scene': tfds.features.Text(doc='the file name\'s standards (nr, lte, wlan), the combined-frame folder '
                                  '(lte_nr, lte_nr_wlan) or captured'),
      'file_name': tfds.features.Text(doc='path in the download, without extension'),
      'recording': tfds.features.Text(doc='captured frames: the capture (file name without _frame_N)'),
      'params': tfds.features.Text(doc='JSON: the label version'),
  }


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for spectrum_sensing."""

  VERSION = tfds.core.Version('1.5.0')
  RELEASE_NOTES = {
      '1.0.0': 'Initial release.',
      '1.5.0': 'The LTE and NR PBCH carry the cell\'s coded MIB (LTE: bandwidth, PHICH N_g, SFN, port count, '
               'TS 36.212 §5.3.1; NR: SFN, k_SSB, CORESET0 and search space 0 or k_SSB 31 without them, TS 38.212 '
               '§7.1) instead of random QPSK: the same REs and power, every other sample unchanged, so an image '
               'changes only where the spectrogram reads PBCH symbols.',
      '1.4.0': 'The same bytes on every CPU (`specsense_jax.portable_math`: elementary functions and complex '
               'products that do not depend on numpy\'s or glibc\'s SIMD kernels; the matlab-mode spectrogram\'s '
               'kept bins by a folded FFT instead of a BLAS product). Every config\'s bytes differ from 1.3.0 in the '
               'last bits, which moves a few pixels by a grey level.',
      '1.3.0': 'Realistic configs, 1.6x faster to build: the receiver\'s gain shape and anti-alias low-pass are one '
               'filter, the AGC settles on the 16 windows the noise floor is measured on (was 8 of 128 samples), '
               'and complex products keep one operand order at every size (numpy\'s complex64 product is not '
               'bitwise commutative), so their bytes differ from 1.2.0 in the last bits. MathWorks-parity and '
               'captured configs keep their bytes.',
      '1.2.0': 'Realistic configs: several carriers per standard on their rasters, edge-cut carriers, interferers '
               'labelled Unknown (four classes), frequency-selective fading by default, a drawn receiver and '
               'inference\'s recording-to-frames path (no labels outside the captured band), floor scaling, and '
               'an occupancy_mask feature. MathWorks-parity and captured configs keep their bytes.',
      '1.1.0': 'Synthetic configs: NR + LTE frames get the noise of the SNR they record, the composed frame\'s '
               'full-band SNR (1.0.0 set it from one signal\'s power, so they were 3 dB cleaner than recorded); '
               'NR-only and LTE-only frames are unchanged. Captured configs: each recording goes whole to one '
               'split (neighbouring frames no longer land in train and test); a recording\'s last part shorter '
               'than a frame is a frame of its own length instead of being padded with floor noise; pixels with '
               'no recorded data (the noise fill of the band a recording lacks) are labelled 255 (no label) '
               'instead of Noise (0).',
  }
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_DOWNLOAD_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    class_names = constants.check_class_names(self.builder_config.class_names,
                                              f'{self.builder_config.name}: class_names')
    if self.builder_config.kind == 'synthetic':
      missing = [label for label in self.builder_config.synthetic_spec().scene_config().labels
                 if label not in class_names]
      if missing:
        raise ValueError(f'{self.builder_config.name}: its scenes carry {missing}, which class_names {class_names} '
                         f'lack; use a class set that holds them ({constants.CLASS_SETS})')
    class_ids = {name: constants.CLASS_IDS[name] for name in class_names}
    image_and_mask = {
        'image': tfds.features.Image(shape=(size, size, 3), dtype=np.uint8),
        'mask': tfds.features.Image(shape=(size, size, 1), dtype=np.uint8, use_colormap=True,
                                    doc=f'class ids: {class_ids}; {constants.NO_LABEL}: no label'),
    }
    if self.builder_config.kind.startswith('mathworks'):
      return self.dataset_info_from_configs(
          description=_DESCRIPTION,
          features=tfds.features.FeaturesDict({
              **image_and_mask, 'snr_db': tfds.features.Scalar(np.float32, doc='NaN: not recorded'),
              **_mathworks_features(size, class_names)}),
          supervised_keys=('image', 'mask'),
          # The classes of the detected label version replace these when the set is built (_split_generators).
          metadata=tfds.core.MetadataDict(class_names=list(class_names)),
          homepage='https://www.mathworks.com/help/comm/ug/spectrum-sensing-with-deep-learning-to-identify-5g-'
                   'and-lte-signals.html',
      )
    return self.dataset_info_from_configs(
        description=_DESCRIPTION,
        features=tfds.features.FeaturesDict({
            **image_and_mask,
            'snr_db': tfds.features.Scalar(np.float32, doc='frame SNR (NaN for captured frames)'),
            'signals': tfds.features.Tensor(shape=(len(examples.signal_labels(class_names)),), dtype=np.bool_,
                                            doc=f'present: {examples.signal_labels(class_names)}'),
            'scene': tfds.features.Text(doc='nr, lte, nr_lte or captured'),
            'params': tfds.features.Text(doc='JSON of every drawn parameter / recording facts'),
            'recording': tfds.features.Text(),
            'frame_index': tfds.features.Scalar(np.int64),
            'valid_fraction': tfds.features.Scalar(np.float32, doc='share of the frame from the recording'),
            **({'occupancy_mask': tfds.features.Image(
                shape=(size, size, 1), dtype=np.uint8, use_colormap=True,
                doc='occupancy truth (cells that carry energy), ids as mask')} if self.builder_config.occupancy_mask
               else {}),
        }),
        supervised_keys=('image', 'mask'),
        # The class set, read by training and evaluation (data.pipeline.dataset_class_names).
        metadata=tfds.core.MetadataDict(class_names=list(class_names)),
        homepage='https://www.mathworks.com/help/comm/ug/spectrum-sensing-with-deep-learning-to-identify-5g-'
                 'and-lte-signals.html',
    )

  def download_and_prepare(self, *, download_config: tfds.download.DownloadConfig | None = None,
                           **kwargs: Any) -> None:
    """TFDS' `download_and_prepare`; synthetic frames are made by Apache Beam when `download_config` asks for it
    (`beam_options` / `beam_runner`, as `tfds build --beam_pipeline_options` sets), else by local processes."""
    # TFDS does not hand the download config to `_split_generators`; this is the public place that sees it.
    self._use_beam = bool(download_config and (download_config.beam_options or download_config.beam_runner))
    try:
      super().download_and_prepare(download_config=download_config, **kwargs)
    finally:
      self._use_beam = False

  def _example_writer(self) -> tfds.core.ExampleWriter:
    # TFDS' hook for the record writer: canonical records for this builder only (see `writers`).
    return writers.DeterministicExampleWriter(file_format=self.info.file_format)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    if config.kind.startswith('mathworks'):
      return self._mathworks_splits(str(dl_manager.manual_dir))
    if config.kind == 'captured':
      by_split = examples.captured_examples(str(dl_manager.manual_dir), config.image_size,
                                            config.spectrogram_mode, class_names=tuple(config.class_names))
      empty = [split for split, items in by_split.items() if not items]
      if empty:  # whole recordings go to one split, so a few fill only some; TFDS cannot write an empty one
        held = '; '.join(f'{split}: {", ".join(sorted({ex["recording"] for _, ex in items}))}'
                         for split, items in by_split.items() if items)
        logging.warning('spectrum_sensing/%s: split(s) %s get no recording and are not written; each recording '
                        'goes whole to one split (%s), and test needs at least 2 recordings, validation 3',
                        config.name, ', '.join(empty), held)
      return {split: iter(items) for split, items in by_split.items() if items}
    spec = config.synthetic_spec()
    indices = {s: [i for i in range(spec.num_frames) if splits.split_of(i) == s]
               for s in splits.SPLITS}
    return {split: self._generate_examples(spec, idx) for split, idx in indices.items()}

  def _mathworks_splits(self, root: str):
    config = self.builder_config
    version, by_split = mathworks.mathworks_examples(root, config.image_size, config.kind == 'mathworks_captured',
                                                     config.label_versions)
    # the detected version's classes: 2021 downloads have three, 2023-24 four (same ids, data.pipeline reads them)
    self.info.metadata['class_names'] = list(mathworks.class_names(version))
    self.info.metadata['label_version'] = version
    empty = [split for split, frames in by_split.items() if not frames]
    if empty:
      logging.warning('spectrum_sensing/%s: split(s) %s get no frame and are not written (%d frames in all)',
                      config.name, ', '.join(empty), sum(map(len, by_split.values())))
    return {split: mathworks.generate(root, frames, version, config.image_size)
            for split, frames in by_split.items() if frames}

  def _generate_examples(self, spec, indices):
    if getattr(self, '_use_beam', False):
      beam = tfds.core.lazy_imports.apache_beam
      return beam.Create(indices) | beam.Map(lambda i, s=spec: examples.synthetic_example(s, i))
    return examples.synthetic_examples(spec, indices)
