"""spectrum_sensing builds: determinism across workers and Beam, labels, and bad input."""

import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from specsense_jax import spectrogram
from specsense_jax.data import examples
from specsense_jax.signals import generate_frame
from specsense_jax.signals import SceneConfig
import tfds_builders.spectrum_sensing  # pylint: disable=unused-import  registers the builder
from tfds_builders import writers
from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder as builder_lib

DUMMY = os.path.join(os.path.dirname(tfds_builders.spectrum_sensing.__file__), 'dummy_data')
VERSION = str(builder_lib.Builder.VERSION)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _build(data_dir, config='synthetic_tiny', workers=1, manual_dir=None):
  os.environ['SPECSENSE_TFDS_WORKERS'] = str(workers)
  builder = tfds.builder(f'spectrum_sensing/{config}', data_dir=str(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def _records(data_dir, config='synthetic_tiny'):
  out = {}
  for split in ('train', 'validation', 'test'):
    files = sorted(glob.glob(f'{data_dir}/spectrum_sensing/{config}/{VERSION}/spectrum_sensing-{split}.tfrecord*'))
    out[split] = sorted(r.numpy() for r in tf.data.TFRecordDataset(files))
  return out


@pytest.fixture(scope='module')
def tiny_dir(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp('tiny')
  _build(data_dir, workers=2)
  return data_dir


def test_local_and_beam_builds_are_byte_identical(tiny_dir, tmp_path):
  # tiny_dir: a local build (2 worker processes make the examples, this process writes the records). Against it,
  # `tfds build PATH` with Beam worker processes: other processes write, and protobuf orders an Example's feature
  # map by a hash seeded per process, so equal bytes show the records are canonical; the CLI imports the builder
  # under its folder's name, so this also shows the record writer reaches Beam workers by pickle.
  tfds_cli = os.path.join(os.path.dirname(sys.executable), 'tfds')
  subprocess.run([tfds_cli, 'build', 'tfds_builders/spectrum_sensing', '--config=synthetic_tiny',
                  f'--data_dir={tmp_path}', '--beam_pipeline_options=runner=DirectRunner,direct_num_workers=2,'
                  'direct_running_mode=multi_processing'], check=True, capture_output=True, cwd=ROOT,
                 env=dict(os.environ, SPECSENSE_TFDS_WORKERS='1'))
  reference = _records(tiny_dir)
  assert [len(reference[s]) for s in ('train', 'validation', 'test')] == [16, 2, 2]
  assert _records(tmp_path) == reference


def test_writer_sorts_the_feature_map_and_nothing_of_tfds_is_patched(tmp_path):
  # The same Example with its map entries in opposite orders (a map's entries may come in any order on the wire).
  entries = [tf.train.Example(features=tf.train.Features(feature={name: tf.train.Feature(
      int64_list=tf.train.Int64List(value=[i]))})).SerializeToString() for i, name in enumerate('abcdefgh')]
  forward, backward = b''.join(entries), b''.join(reversed(entries))
  assert forward != backward and tf.train.Example.FromString(forward) == tf.train.Example.FromString(backward)
  writer = writers.DeterministicExampleWriter(file_format=tfds.core.FileFormat.TFRECORD)
  writer.write(str(tmp_path / 'records'), [(0, forward), (1, backward)])
  first, second = (r.numpy() for r in tf.data.TFRecordDataset(str(tmp_path / 'records')))
  assert first == second == tf.train.Example.FromString(forward).SerializeToString(deterministic=True)
  # Importing the builder changed no TFDS class: the serializer and split generation are TFDS' own.
  assert tfds.core.example_serializer.ExampleSerializer.serialize_example.__module__ == (
      'tensorflow_datasets.core.example_serializer')
  assert builder_lib.Builder._generate_splits is tfds.core.GeneratorBasedBuilder._generate_splits


def test_masks_agree_with_frame_annotations(tiny_dir):
  ds = tfds.load('spectrum_sensing/synthetic_tiny', data_dir=str(tiny_dir), split='validation+test')
  config = SceneConfig(image_width=64)
  for example in tfds.as_numpy(ds):
    index = int(example['frame_index'])
    assert index % 10 in (8, 9)
    frame = generate_frame((0, index), config)
    expected = spectrogram.label_mask(frame.annotations, frame.sample_rate, len(frame.iq), (64, 64))
    np.testing.assert_array_equal(example['mask'][..., 0], expected)
    np.testing.assert_array_equal(
        example['image'], spectrogram.spectrogram_image(frame.iq, frame.sample_rate, (64, 64)))
    params = json.loads(example['params'])
    assert example['scene'].decode() == params['scene']
    labels = {a['label'] for a in frame.annotations}
    np.testing.assert_array_equal(example['signals'], ['NR' in labels, 'LTE' in labels, False])
    assert example['snr_db'] == pytest.approx(frame.snr_db, rel=1e-6)


def test_captured_config_labels_recordings(tmp_path):
  builder = _build(tmp_path, 'captured_128', manual_dir=DUMMY)
  # Each recording goes whole to one split; of two recordings one is test and one train, validation is empty.
  assert set(builder.info.splits) == {'train', 'test'}
  by_name = {(e['recording'].decode(), int(e['frame_index'])): (split, e) for split in ('train', 'test')
             for e in tfds.as_numpy(builder.as_dataset(split=split))}
  assert {key: split for key, (split, _) in by_name.items()} == {
      ('lte_dummy', 0): 'test', ('lte_dummy', 1): 'test', ('nr_dummy', 0): 'train'}
  nr_mask = by_name['nr_dummy', 0][1]['mask'][..., 0]
  # 8 ms: a frame of its own length, every row data; NR over [-1.5, 3.5] MHz, the 'beacon' (Unknown) for the
  # first 4 ms only; the band the 7.68 Msps recording lacks (all but columns 56..71) is no label (255).
  cols = lambda lo, hi: slice(int((30.72e6 + lo) // 0.48e6), int((30.72e6 + hi) // 0.48e6) + 1)
  assert np.all(nr_mask[:, cols(-1.5e6, 3.5e6)] == 1)
  assert np.all(nr_mask[:64, cols(-3.1e6, -2.9e6)] == 3) and np.all(nr_mask[64:, cols(-3.1e6, -2.9e6)] == 0)
  assert np.all(nr_mask[:, :56] == 255) and np.all(nr_mask[:, 72:] == 255)
  assert set(np.unique(nr_mask[:, 56:72])) == {0, 1, 3}
  assert by_name['nr_dummy', 0][1]['valid_fraction'] == 1.0
  assert by_name['lte_dummy', 1][1]['valid_fraction'] == 1.0  # the last 5 ms of 45: their own frame


def test_missing_manual_dir_gives_instructions(tmp_path):
  with pytest.raises(AssertionError, match='annotate_captures'):
    _build(tmp_path / 'data', 'captured_128', manual_dir=str(tmp_path / 'nowhere'))


def _bad_recording(tmp_path, problem):
  folder = tmp_path / 'manual'
  folder.mkdir()
  for name in os.listdir(DUMMY):
    if name.startswith('lte_dummy.'):
      shutil.copy(os.path.join(DUMMY, name), folder / name)
  meta = folder / 'lte_dummy.sigmf-meta'
  data = folder / 'lte_dummy.sigmf-data'
  if problem == 'half_sample':
    data.write_bytes(data.read_bytes()[:-1])
  elif problem == 'truncated':
    data.write_bytes(data.read_bytes()[:-2])
  elif problem == 'datatype':
    meta.write_text(meta.read_text().replace('"ci8"', '"cf64_le"'))
  elif problem == 'annotation':
    meta.write_text(meta.read_text().replace('"core:sample_count": 86400', '"core:sample_count": 99999'))
  elif problem == 'nonfinite':
    iq = np.zeros(1000, np.complex64)
    iq[500] = np.nan
    np.stack([iq.real, iq.imag], 1).astype('<f4').tofile(data)
    text = json.loads(meta.read_text())
    text['global']['core:datatype'] = 'cf32_le'
    text['global']['specsense:num_samples'] = 1000
    text['annotations'][0]['core:sample_count'] = 1000
    meta.write_text(json.dumps(text))
  return folder


@pytest.mark.parametrize('problem,match', [
    ('half_sample', 'not a whole number of ci8 samples'),
    ('truncated', 'holds 86399 samples but the metadata declares 86400'),
    ('datatype', 'unsupported datatype'),
    ('annotation', 'outside the recording'),
    ('nonfinite', 'non-finite sample'),
])
def test_bad_recordings_fail_naming_file_and_leave_nothing(tmp_path, problem, match):
  manual = _bad_recording(tmp_path, problem)
  data_dir = tmp_path / 'data'
  with pytest.raises(ValueError, match=match) as error:
    _build(data_dir, 'captured_128', manual_dir=str(manual))
  assert 'lte_dummy.sigmf' in str(error.value)
  assert not tfds.builder('spectrum_sensing/captured_128', data_dir=str(data_dir)).is_prepared()
  assert not glob.glob(f'{data_dir}/spectrum_sensing/captured_128/{VERSION}/*.tfrecord*')


def test_realistic_configs_draw_realistic_scenes():
  configs = {c.name: c for c in builder_lib.Builder.BUILDER_CONFIGS}
  spec = configs['realistic_128'].synthetic_spec()
  assert spec.scene_config() == SceneConfig.realistic(image_width=128)
  short = configs['realistic_128_short'].synthetic_spec().scene_config()
  assert short.short_frames == 0.25 and short.lte_ports == spec.scene_config().lte_ports
  six, six_short = (configs[name].synthetic_spec().scene_config()
                    for name in ('realistic_128_wlan_radar', 'realistic_128_wlan_radar_short'))
  assert six_short == dataclasses.replace(six, short_frames=0.25, short_duration_s=(0.001, 0.02),
                                         bursty_cochannel_share=0.2, bursty_cochannel_fallback=False)
  balanced = configs['realistic_128_load_balanced'].synthetic_spec().scene_config()
  assert balanced == dataclasses.replace(spec.scene_config(), nr_load=balanced.nr_load, lte_load=balanced.lte_load)
  loaded = ('medium', 'heavy', 'full')  # NR mostly loaded, LTE mostly idle: density does not tell the standard
  assert sum(p for load, p in balanced.nr_load if load in loaded) == pytest.approx(0.7)
  assert dict(balanced.lte_load)['idle'] == 0.45 and dict(balanced.nr_load)['idle'] == 0.1
  assert sum(p for _, p in balanced.nr_load) == pytest.approx(1) == sum(p for _, p in balanced.lte_load)
  wide = configs['realistic_128_wide'].synthetic_spec().scene_config()
  assert wide == dataclasses.replace(spec.scene_config(), nr_wide_share=0.2)
  wide_short = configs['realistic_128_wide_short'].synthetic_spec().scene_config()
  assert wide_short == dataclasses.replace(spec.scene_config(), nr_wide_share=0.4, short_frames=0.5,
                                           short_duration_s=(0.001, 0.02))
  six_wide = configs['realistic_128_wlan_radar_wide_short'].synthetic_spec().scene_config()
  assert six_wide == dataclasses.replace(six_short, short_frames=0.5, nr_wide_share=0.4)
  rich = configs['realistic_128_wlan_radar_rich']
  assert rich.seed != configs['realistic_128_wlan_radar_wide_short'].seed  # other frames, not the same scenes again
  assert rich.synthetic_spec().scene_config() == dataclasses.replace(
      six_wide, bursty_counts=((1, 0.4), (2, 0.4), (3, 0.2)), bursty_kinds=(('wlan', 0.3), ('radar', 0.7)),
      bursty_visible_labels=True)
  assert not six_wide.bursty_visible_labels  # the released sets keep their labels (and bytes)
  # its labels changed (pulses' spread, 1.6.0) and it alone moved: every other config keeps the builder's version
  assert str(tfds.builder('spectrum_sensing/realistic_128_wlan_radar_rich').version) == '1.6.0'
  assert '1.6.0' in rich.release_notes and '1.5.0' in rich.release_notes
  assert {str(tfds.builder(f'spectrum_sensing/{name}').version) for name in configs if name != rich.name} == {
      str(builder_lib.Builder.VERSION)}
  # the same frame index draws other cells than the parity set, with the realistic options recorded
  signals = [json.loads(examples.synthetic_example(spec, i)[1]['params'])['signals'] for i in range(4)]
  assert all('load' in s for frame in signals for s in frame)
  assert any(s.get('duplex') == 'tdd' for frame in signals for s in frame)
  with pytest.raises(ValueError, match=r"scene_preset must be one of \['matlab', 'matlab_wlan', 'realistic', "
                                       r"'realistic_bursty', 'realistic_wlan'\], got 'real'"):
    examples.SyntheticSpec(10, 128, scene_preset='real').scene_config()


def test_realistic_minmax_config_is_realistic_128_imaged_min_max():
  configs = {c.name: c for c in builder_lib.Builder.BUILDER_CONFIGS}
  floor, minmax = configs['realistic_128'].synthetic_spec(), configs['realistic_128_minmax'].synthetic_spec()
  assert (floor.scaling, minmax.scaling) == ('floor', 'minmax')
  assert minmax.scene_config() == floor.scene_config() and minmax.capture_config() == floor.capture_config()
  for index in (0, 3):
    a, b = examples.synthetic_example(floor, index)[1], examples.synthetic_example(minmax, index)[1]
    for key in ('mask', 'occupancy_mask', 'params', 'snr_db', 'valid_fraction'):
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # min-max stretches the image to the colour map's two ends; the floor scaling clips its dark end at grey 0
    # only below the floor and keeps noise at grey 64
    ends = spectrogram.colorize(np.array([[0, 255]], np.uint8))[0]
    colours = {tuple(c) for c in b['image'].reshape(-1, 3)}
    assert tuple(ends[0]) in colours and tuple(ends[1]) in colours
    assert not np.array_equal(a['image'], b['image'])


def test_class_set_is_in_the_metadata_and_the_mask_doc_of_every_config(tmp_path):
  # Read from the builder's info without building anything.
  from specsense_jax import constants  # pylint: disable=g-import-not-at-top
  for config in builder_lib.Builder.BUILDER_CONFIGS:
    info = builder_lib.Builder(config=config.name, data_dir=str(tmp_path)).info
    four = config.scene_preset == 'realistic' or config.kind == 'captured'  # interferers / other labels: Unknown
    expected = {'realistic_wlan': constants.FIVE_CLASSES, 'matlab_wlan': constants.FIVE_CLASSES,
                'realistic_bursty': constants.SIX_CLASSES}.get(
                    config.scene_preset, constants.FOUR_CLASSES if four else ('Noise', 'NR', 'LTE'))
    if config.kind.startswith('mathworks'):  # until built: the newest version's classes (2023-24: 4, 2025: 5)
      expected = constants.FIVE_CLASSES if config.label_versions == ('2025',) else constants.FOUR_CLASSES
    assert info.metadata['class_names'] == list(expected), config.name
    ids = ', '.join(f"'{name}': {i}" for i, name in enumerate(expected))
    assert info.features['mask'].doc.desc == f'class ids: {{{ids}}}; 255: no label', config.name
  with pytest.raises(ValueError, match=r"class_names must list class names in id order from 0 .*got \('Noise', "
                                       r"'LTE'\)"):
    constants.check_class_names(('Noise', 'LTE'))
  # A set whose scenes carry labels its classes lack is refused before anything is built.
  bad = dataclasses.replace(builder_lib.Builder.builder_configs['realistic_128_wlan_radar'], name='bad',
                            class_names=constants.FIVE_CLASSES)
  with pytest.raises(ValueError, match=r"bad: its scenes carry \['Radar'\], which class_names .* lack"):
    builder_lib.Builder(config=bad, data_dir=str(tmp_path)).info  # pylint: disable=expression-not-assigned


def test_six_class_config_builds_with_its_class_set(tmp_path):
  # Built through TFDS: the metadata names the six classes, the signals flags add WLAN and Radar, and the masks
  # hold packets and pulses in those ids (the first frames of the set, 64x64).
  from specsense_jax import constants  # pylint: disable=g-import-not-at-top
  builder = _build(tmp_path, 'realistic_tiny_wlan_radar', workers=2)
  assert builder.info.metadata['class_names'] == list(constants.SIX_CLASSES)
  assert builder.info.features['signals'].shape == (5,)
  examples_ = list(tfds.as_numpy(builder.as_dataset(split='train')))
  ids = np.unique(np.concatenate([ex['mask'].ravel() for ex in examples_]))
  assert set(ids) <= set(range(6)) | {constants.NO_LABEL} and {4, 5} <= set(ids)
  for ex in examples_:  # WLAN or Radar pixels only in frames that flag them (a packet between read windows has none)
    for flag, class_id in ((3, 4), (4, 5)):
      if (ex['mask'] == class_id).any():
        assert ex['signals'][flag]
