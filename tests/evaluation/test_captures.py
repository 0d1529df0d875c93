"""Real-recording evaluation: every annotated recording of a folder (SigMF or catalogued), per model, Ignore
regions skipped; the shipped model on the real captures in ../shared (skipped without it)."""

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from specsense_jax.evaluation import captures
from specsense_jax.inference import trained_models
from specsense_jax.io import catalog
from specsense_jax.io import recordings
from specsense_jax.io import sigmf
from specsense_jax.signals import lte


def test_real_capture_table(shared_dir, tmp_path):
  rows = captures.evaluate_captures(str(shared_dir / 'realdata' / 'captures'), output_dir=str(tmp_path))
  assert sorted(r['recording'] + '.bin' for r in rows) == sorted(c.file for c in catalog.CAPTURES)
  lte_fdd = next(r for r in rows if r['recording'] == 'lte_fdd_b3_f1815.3MHz_s19.2Msps_int8')
  assert lte_fdd['iou_LTE'] > 0.95 and lte_fdd['iou_NR'] is None
  assert lte_fdd['annotated'] == 'LTE' and lte_fdd['annotated_iou'] == lte_fdd['iou_LTE']
  assert lte_fdd['other_standard'] < 0.01 and not lte_fdd['held_out']
  assert {r['recording'] + '.bin' for r in rows if r['held_out']} == set(catalog.HELD_OUT)
  # the default model's figures on the development captures (its card's table): what the retraining bought
  annotated = {r['recording']: r['annotated_iou'] for r in rows}
  assert annotated['lte_tdd_b39_f1890MHz_s19.2Msps_int8'] > 0.95  # 0.65 for custom_synthetic_128_short
  assert annotated['nr_n78_f3502.8MHz_s46.08Msps_cf32'] > 0.9  # 0.000 for every other shipped model
  assert annotated['nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32'] > 0.9
  assert annotated['nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32'] > 0.7
  assert annotated['nr_n3_20MHz_f1865MHz_s23.04Msps_cf32'] > 0.95  # 0.701 when its energetic edges were Noise
  for row in rows:
    assert row['frames'] >= 1 and row['pixels'] > 0 and row['model'] == trained_models.DEFAULT
    assert row['mean_iou'] == pytest.approx(  # the mean over the classes scored (in the truth or the prediction)
        sum(s := [v for k, v in row.items() if k.startswith('iou_') and v is not None]) / len(s))
  table = (tmp_path / 'captures.md').read_text()
  assert '| custom_realistic_128 | lte_fdd_b3_f1815.3MHz_s19.2Msps_int8 | 2 | LTE | 1.000 | 0.000 |' in table
  assert 'lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2 (held out)' in table


def test_six_class_model_under_the_band_plan(shared_dir):
  # the real captures hold no WLAN or radar: the shipped six-class model may call neither on 0.5 % of a capture's
  # pixels under the band plan (its default in predict); alone it calls WLAN on 30 % of the loaded n3 capture
  rows = captures.evaluate_captures(str(shared_dir / 'realdata' / 'captures'), ['custom_realistic_128_wlan_radar'],
                                    band_plan=True)
  plain = {r['recording']: r for r in rows if not r['band_plan']}
  prior = {r['recording']: r for r in rows if r['band_plan']}
  assert len(plain) == len(prior) == len(catalog.CAPTURES)
  assert all(r['called_bursty'] < 0.005 for r in prior.values())
  assert all(r['model'] == 'custom_realistic_128_wlan_radar + band plan' for r in prior.values())
  n3 = 'nr_n3_20MHz_f1865MHz_s23.04Msps_cf32'
  assert plain[n3]['called_bursty'] > 0.2 and prior[n3]['annotated_iou'] > plain[n3]['annotated_iou'] + 0.2
  lte = 'lte_fdd_b3_f1815.3MHz_s19.2Msps_int8'
  assert prior[lte]['annotated_iou'] > 0.95 and plain[lte] == {**prior[lte], 'model': plain[lte]['model'],
                                                                'band_plan': False}


@pytest.fixture(scope='module')
def sigmf_folder(tmp_path_factory):
  """Three SigMF recordings of one 10 MHz LTE carrier at 15.36 Msps: annotated, all Ignore, not annotated."""
  folder = tmp_path_factory.mktemp('recordings')
  fs = 15.36e6
  wave = lte.lte_waveform(10, ncellid=7, seed=3, sample_rate=fs, duration_s=0.01, load='full')
  rng = np.random.default_rng(0)
  noise = (rng.normal(size=wave.iq.shape) + 1j * rng.normal(size=wave.iq.shape)) * 0.01
  iq = (0.3 * wave.iq / np.sqrt(np.mean(np.abs(wave.iq) ** 2)) + noise).astype(np.complex64)
  whole = {'sample_start': 0, 'sample_count': len(iq)}
  sigmf.write_recording(str(folder / 'carrier'), iq, fs,
                        annotations=[{**whole, 'label': 'LTE', 'freq_lower_edge': -4.5e6, 'freq_upper_edge': 4.5e6}])
  sigmf.write_recording(str(folder / 'ignored'), iq, fs,
                        annotations=[{**whole, 'label': 'Ignore', 'freq_lower_edge': -fs / 2,
                                      'freq_upper_edge': fs / 2}])
  sigmf.write_recording(str(folder / 'plain'), iq, fs)
  return folder


def test_folder_of_sigmf_recordings(sigmf_folder, tmp_path):
  rows = captures.evaluate_captures(str(sigmf_folder), ['custom_synthetic_128_short'], str(tmp_path))
  assert [r['recording'] for r in rows] == ['carrier', 'ignored']  # 'plain' has no annotations
  carrier, ignored = rows
  assert carrier['annotated'] == 'LTE' and carrier['annotated_iou'] > 0.9 and carrier['other_standard'] < 0.05
  assert carrier['iou_Noise'] > 0.5 and not carrier['held_out']
  # Ignore over the whole band: no pixel is scored
  assert ignored['pixels'] == 0 and ignored['annotated'] == '' and ignored['annotated_iou'] is None
  assert (tmp_path / 'captures.json').exists()


class _Constant(nn.Module):
  """Logits that call every pixel one class."""
  label: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    return jnp.zeros(x.shape[:-1] + (3,)).at[..., self.label].set(10.0)


def test_other_standard_in_the_ignore_regions(sigmf_folder, tmp_path):
  # LTE annotated over the carrier's lower half, Ignore over its upper half: a network that calls everything
  # NR calls all the Ignore pixels the other standard, one that calls everything LTE none of them
  meta = sigmf.write_recording(str(tmp_path / 'half'), recordings.read_recording(
      str(sigmf_folder / 'carrier.sigmf-meta')).read(0, 153_600), 15.36e6, annotations=[
          {'sample_start': 0, 'sample_count': 153_600, 'label': 'LTE', 'freq_lower_edge': -4.5e6,
           'freq_upper_edge': 0.0},
          {'sample_start': 0, 'sample_count': 153_600, 'label': 'Ignore', 'freq_lower_edge': 0.0,
           'freq_upper_edge': 4.5e6}])
  config = ml_collections.ConfigDict({'image_size': 128, 'class_names': ['Noise', 'NR', 'LTE'],
                                      'spectrogram_mode': 'matlab'})
  for label, expected in ((1, 1.0), (2, 0.0)):
    stub = trained_models.TrainedModel('stub', config, _Constant(label), {})
    row = captures.evaluate_recording(stub, recordings.read_recording(meta))
    assert row['annotated'] == 'LTE' and row['other_standard'] == expected
    assert row['other_standard_unscored'] == expected
  assert 'other standard in Ignore' in captures.markdown_table([{**row, 'model': 'stub'}])


def test_missing_or_empty_captures_folder(tmp_path):
  with pytest.raises(ValueError, match='file not found'):
    captures.evaluate_captures(str(tmp_path / 'none'))
  with pytest.raises(ValueError, match='no annotated recording'):
    captures.evaluate_captures(str(tmp_path))


def test_table_has_one_iou_column_per_class_of_any_model():
  three = {'model': 'a', 'recording': 'r', 'frames': 2, 'pixels': 10, 'global_accuracy': 0.5, 'mean_iou': 0.25,
           'iou_Noise': 0.5, 'iou_NR': None, 'iou_LTE': 0.0, 'annotated': 'LTE', 'annotated_iou': 0.0,
           'other_standard': 1.0, 'held_out': False}
  four = {**three, 'model': 'b', 'iou_Unknown': 0.5, 'held_out': True, 'annotated': '', 'annotated_iou': None,
          'other_standard': None}
  assert captures.markdown_table([three, four]).splitlines() == [
      '| model | recording | frames | annotated | IoU annotated | other standard | IoU Noise | IoU NR | IoU LTE | '
      'IoU Unknown | mean IoU | pixel accuracy |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      '| a | r | 2 | LTE | 0.000 | 1.000 | 0.500 | – | 0.000 | – | 0.250 | 0.500 |',
      '| b | r (held out) | 2 | – | – | – | 0.500 | – | 0.000 | 0.500 | 0.250 | 0.500 |']
