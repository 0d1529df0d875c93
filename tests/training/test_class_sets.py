"""Class sets: a model takes its classes from its dataset's metadata and records them; scored on data of another
class set, it is scored in its own classes (truth classes it lacks are no-label, classes the truth lacks are
errors where predicted)."""

import io
import json
import pathlib
import shutil

import flax
import numpy as np
import PIL.Image
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from specsense_jax import constants
from specsense_jax.data import pipeline
from specsense_jax.evaluation import reports
from specsense_jax.inference import trained_models
from specsense_jax.training import checkpoints
from specsense_jax.training import train
from tfds_builders.spectrum_sensing import spectrum_sensing_dataset_builder as builder_lib

TINY = 'spectrum_sensing/synthetic_tiny'
NR, LTE, UNKNOWN = (constants.CLASS_IDS[n] for n in ('NR', 'LTE', 'Unknown'))


def _lte_as_unknown(record: bytes) -> bytes:
  example = tf.train.Example.FromString(record)
  png = example.features.feature['mask'].bytes_list.value
  mask = np.array(PIL.Image.open(io.BytesIO(png[0])))
  mask[mask == LTE] = UNKNOWN
  out = io.BytesIO()
  PIL.Image.fromarray(mask).save(out, format='PNG')
  png[0] = out.getvalue()
  return example.SerializeToString(deterministic=True)


@pytest.fixture(scope='module')
def four_class_dir(tiny_data_dir, tmp_path_factory) -> str:
  """A data_dir with a copy of synthetic_tiny whose metadata names the four classes and whose LTE pixels are
  labelled Unknown: a four-class dataset with Unknown truth, read through TFDS like any other."""
  target = tmp_path_factory.mktemp('four') / 'data'
  shutil.copytree(tiny_data_dir, target)
  folder = target / 'spectrum_sensing' / 'synthetic_tiny' / str(builder_lib.Builder.VERSION)
  shards = sorted(folder.glob('*.tfrecord*'))
  assert shards
  for path in shards:
    records = [_lte_as_unknown(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
    with tf.io.TFRecordWriter(str(path)) as writer:
      for record in records:
        writer.write(record)
  (folder / 'metadata.json').write_text(json.dumps({'class_names': list(constants.FOUR_CLASSES)}))
  return str(target)


def _test_masks(data_dir: str) -> np.ndarray:
  builder = tfds.builder(TINY, data_dir=data_dir)
  return np.stack([ex['mask'][..., 0] for ex in tfds.as_numpy(builder.as_dataset(split='test'))])


def test_dataset_class_names_come_from_the_metadata(tiny_data_dir, four_class_dir):
  assert pipeline.dataset_class_names(tfds.builder(TINY, data_dir=tiny_data_dir)) == ('Noise', 'NR', 'LTE')
  assert pipeline.dataset_class_names(tfds.builder(TINY, data_dir=four_class_dir)) == constants.FOUR_CLASSES
  class Unrecorded:  # a dataset written before its metadata named its classes
    class info:  # pylint: disable=invalid-name
      metadata = None
  assert pipeline.dataset_class_names(Unrecorded) == constants.MATHWORKS_CLASSES
  # the pipeline gives masks in a model's classes: a three-class model's batches hold no Unknown
  masks = _test_masks(four_class_dir)
  assert (masks == UNKNOWN).any() and not (masks == LTE).any()
  batch = next(iter(tfds.as_numpy(pipeline.input_pipeline(
      TINY, 'test', global_batch_size=8, train=False, data_dir=four_class_dir, class_names=('Noise', 'NR', 'LTE')))))
  np.testing.assert_array_equal(batch['mask'][:2], np.where(masks == UNKNOWN, constants.NO_LABEL, masks))


def test_model_takes_its_class_count_from_the_dataset_and_records_it(tiny_config, tiny_data_dir, four_class_dir,
                                                                     tmp_path):
  workdir = tmp_path / 'four'
  result = train.train_and_evaluate(tiny_config(max_steps=2, data_dir=four_class_dir), str(workdir))
  recorded = json.loads((workdir / 'config.json').read_text())
  assert recorded['num_classes'] == 4 and recorded['class_names'] == list(constants.FOUR_CLASSES)
  assert np.shape(result['confusion_matrix']) == (4, 4)
  trained = trained_models.load(str(workdir))  # built with the recorded count
  logits = trained.model.apply(trained.variables, np.zeros((1, 64, 64, 3), np.float32), train=False)
  assert logits.shape == (1, 64, 64, 4) and trained.class_names == constants.FOUR_CLASSES
  # On three-class data the four-class model finds no Unknown truth: that row is empty, every pixel is scored,
  # and the rest is its four-class confusion with the Unknown truth row back on LTE (same images, same outputs).
  three = reports.evaluate_model(str(workdir), 'test', output_dir=str(tmp_path / 'on_three'), data_dir=tiny_data_dir)
  four = reports.evaluate_model(str(workdir), 'test', output_dir=str(tmp_path / 'on_four'))
  on_three, on_four = np.array(three['confusion_matrix']), np.array(four['confusion_matrix'])
  assert three['dataset_class_names'] == ['Noise', 'NR', 'LTE'] and three['unscored_classes'] == []
  assert on_three.sum() == 2 * 64 * 64 and not on_three[UNKNOWN].any()
  np.testing.assert_array_equal(on_three[:LTE], on_four[:LTE])
  np.testing.assert_array_equal(on_three[LTE], on_four[UNKNOWN])
  assert not on_four[LTE].any()
  assert set(three['class_iou']) == set(constants.FOUR_CLASSES)
  # An explicit class count that disagrees with the dataset stops before anything is written.
  with pytest.raises(ValueError, match=r'config.num_classes is 3 but spectrum_sensing/synthetic_tiny has 4 '
                                       r"classes \('Noise', 'NR', 'LTE', 'Unknown'\)"):
    train.train_and_evaluate(tiny_config(max_steps=2, data_dir=four_class_dir, num_classes=3), str(tmp_path / 'x'))
  assert not (tmp_path / 'x').exists()


@pytest.fixture(scope='module')
def three_class_workdir(tiny_data_dir, tmp_path_factory) -> str:
  """A tiny network trained two steps on synthetic_tiny's three classes."""
  from configs import default  # pylint: disable=g-import-not-at-top
  config = default.get_config('runlocal')
  with config.unlocked():
    config.data_dir, config.model_kwargs, config.max_steps = tiny_data_dir, {'widths': (8, 16)}, 2
  workdir = str(tmp_path_factory.mktemp('three') / 'run')
  train.train_and_evaluate(config, workdir)
  return workdir


def test_three_class_model_scores_unknown_truth_as_no_label(three_class_workdir, tiny_data_dir, four_class_dir,
                                                           tmp_path):
  workdir = pathlib.Path(three_class_workdir)
  assert json.loads((workdir / 'config.json').read_text())['class_names'] == ['Noise', 'NR', 'LTE']
  three = reports.evaluate_model(str(workdir), 'test', output_dir=str(tmp_path / 'on_three'))
  four = reports.evaluate_model(str(workdir), 'test', output_dir=str(tmp_path / 'on_four'), data_dir=four_class_dir)
  on_three, on_four = np.array(three['confusion_matrix']), np.array(four['confusion_matrix'])
  # The Unknown pixels of the four-class truth (the LTE ones of the three-class truth) count nowhere: the
  # confusion is the three-class one without its LTE row, short of exactly that many pixels.
  unknown_pixels = int((_test_masks(four_class_dir) == UNKNOWN).sum())
  assert unknown_pixels == int((_test_masks(tiny_data_dir) == LTE).sum()) > 0
  assert on_four.shape == (3, 3) and on_four.sum() == 2 * 64 * 64 - unknown_pixels
  expected = on_three.copy()
  expected[LTE] = 0
  np.testing.assert_array_equal(on_four, expected)
  assert four['unscored_classes'] == ['Unknown'] and four['class_names'] == ['Noise', 'NR', 'LTE']
  assert four['class_accuracy']['LTE'] is None  # no LTE truth is left to score
  assert 'Truth pixels of Unknown (classes the model lacks) are not scored.' in (
      tmp_path / 'on_four' / 'report.md').read_text()


def _six_classes(record: bytes) -> bytes:
  """LTE pixels of the top half of each mask become WLAN, NR pixels of its first rows Radar."""
  example = tf.train.Example.FromString(record)
  png = example.features.feature['mask'].bytes_list.value
  mask = np.array(PIL.Image.open(io.BytesIO(png[0])))
  half = mask.shape[0] // 2
  mask[:half][mask[:half] == LTE] = constants.CLASS_IDS['WLAN']
  mask[:4][mask[:4] == NR] = constants.CLASS_IDS['Radar']
  out = io.BytesIO()
  PIL.Image.fromarray(mask).save(out, format='PNG')
  png[0] = out.getvalue()
  return example.SerializeToString(deterministic=True)


def test_six_class_set_round_trips_through_training_packaging_evaluation_and_predict(tiny_config, tiny_data_dir,
                                                                                      three_class_workdir, tmp_path):
  target = tmp_path / 'data'
  shutil.copytree(tiny_data_dir, target)
  folder = target / 'spectrum_sensing' / 'synthetic_tiny' / str(builder_lib.Builder.VERSION)
  for path in sorted(folder.glob('*.tfrecord*')):
    records = [_six_classes(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
    with tf.io.TFRecordWriter(str(path)) as writer:
      for record in records:
        writer.write(record)
  (folder / 'metadata.json').write_text(json.dumps({'class_names': list(constants.SIX_CLASSES)}))
  workdir = tmp_path / 'six'  # grown from the three-class network (fine-tuning to a larger class set)
  result = train.train_and_evaluate(tiny_config(max_steps=2, data_dir=str(target), init_from=three_class_workdir),
                                    str(workdir))
  assert json.loads((workdir / 'config.json').read_text())['class_names'] == list(constants.SIX_CLASSES)
  assert np.shape(result['confusion_matrix']) == (6, 6)
  packaged = trained_models.package(str(workdir), str(tmp_path / 'packaged'))
  trained = trained_models.load(packaged)
  assert trained.class_names == constants.SIX_CLASSES
  # Growing: every weight comes from the three-class network, and the classifier's columns of Noise, NR and LTE
  # too; the columns of Unknown, WLAN and Radar keep the new network's own (here: the trained six-class values).
  three = flax.traverse_util.flatten_dict(trained_models.load(three_class_workdir).variables['params'])
  six = flax.traverse_util.flatten_dict(trained.variables['params'])
  grown = flax.traverse_util.flatten_dict(checkpoints.load_trained_variables(
      three_class_workdir, trained.variables, constants.SIX_CLASSES)['params'])
  widened = [name for name in six if np.shape(six[name]) != np.shape(three[name])]
  assert widened and all(np.shape(six[name])[-1] == 6 for name in widened)
  for name, value in grown.items():
    if name in widened:
      np.testing.assert_array_equal(value[..., :3], three[name])
      np.testing.assert_array_equal(value[..., 3:], six[name][..., 3:])
    else:
      np.testing.assert_array_equal(value, three[name])
  with pytest.raises(ValueError, match=r"predicts \['Noise', 'NR', 'LTE', 'Unknown', 'WLAN', 'Radar'\]; this run "
                                       r"trains \['Noise', 'NR', 'LTE'\], without \['Unknown', 'WLAN', 'Radar'\]"):
    checkpoints.check_trained(packaged, tiny_config(), ('Noise', 'NR', 'LTE'))
  logits = trained.model.apply(trained.variables, np.zeros((1, 64, 64, 3), np.float32), train=False)
  assert logits.shape == (1, 64, 64, 6)
  report = reports.evaluate_model(packaged, 'test', output_dir=str(tmp_path / 'eval'), data_dir=str(target))
  assert set(report['class_iou']) == set(constants.SIX_CLASSES)
  # predict names its mask ids by the six classes and draws a figure with them
  from specsense_jax.inference import predict  # pylint: disable=g-import-not-at-top
  from specsense_jax.io import sigmf  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  iq = ((rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)) / 10).astype(np.complex64)
  (tmp_path / 'recs').mkdir()
  meta = sigmf.write_recording(str(tmp_path / 'recs' / 'noise'), iq, 5e6, center_frequency=2.45e9, annotations=[
      {'label': 'NR', 'freq_lower_edge': -1e6, 'freq_upper_edge': 1e6, 'sample_start': 0, 'sample_count': 200_000}])
  document = predict.run_predict([meta], str(tmp_path / 'out'), model=packaged)
  assert document['classes'] == list(constants.SIX_CLASSES) and document['band_plan']  # its default at 2.45 GHz
  saved = json.loads((tmp_path / 'out' / 'detections.json').read_text())
  assert saved['classes'] == list(constants.SIX_CLASSES) and (tmp_path / 'out' / 'frame_0000.png').exists()
  # The capture benchmark reports the share of pixels called WLAN or Radar where the truth holds neither: here
  # every scored pixel's truth is Noise or NR, so under the band plan (predict's default here) it is the predicted
  # masks' share of those two classes; 2.45 GHz has no radar allocation, so none is Radar.
  from specsense_jax.evaluation import captures  # pylint: disable=g-import-not-at-top
  _, row = captures.evaluate_captures(str(tmp_path / 'recs'), [packaged], output_dir=str(tmp_path / 'bench'),
                                      band_plan=True)
  predicted = np.concatenate([np.load(p).ravel() for p in sorted((tmp_path / 'out').glob('frame_*_mask.npy'))])
  scored = predicted[predicted != constants.NO_LABEL]
  assert row['band_plan'] and not (scored == constants.SIX_CLASSES.index('Radar')).any()
  assert row['called_bursty'] == pytest.approx(np.isin(scored, [4, 5]).mean())
  assert 'called WLAN/Radar' in (tmp_path / 'bench' / 'captures.md').read_text()


def test_a_model_is_scored_against_the_occupancy_truth(three_class_workdir, realistic_tiny_data_dir, tmp_path):
  name = 'spectrum_sensing/realistic_tiny'
  band, occupancy = (reports.evaluate_model(three_class_workdir, 'test', output_dir=str(tmp_path / truth),
                                            dataset=name, data_dir=realistic_tiny_data_dir, truth=truth)
                     for truth in ('band', 'occupancy'))
  assert (band['truth'], occupancy['truth']) == ('band', 'occupancy')
  test = list(tfds.as_numpy(tfds.builder(name, data_dir=realistic_tiny_data_dir).as_dataset(split='test')))
  for report, key in ((band, 'mask'), (occupancy, 'occupancy_mask')):
    truth = np.stack([ex[key][..., 0] for ex in test])
    scored = np.isin(truth, (0, 1, 2))  # the three-class model's classes; Unknown and no-label count nowhere
    confusion = np.array(report['confusion_matrix'])
    assert confusion.sum() == scored.sum()
    np.testing.assert_array_equal(confusion.sum(axis=1), [(truth == c).sum() for c in range(3)])  # truth rows
  assert 'occupancy truth' in (tmp_path / 'occupancy' / 'report.md').read_text()
