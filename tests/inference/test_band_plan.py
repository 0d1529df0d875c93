"""The band-plan prior: WLAN and Radar only in the columns their allocations overlap (hand-computed edges), the
other classes untouched, probabilities renormalised, and predict and the capture benchmark applying it."""

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from specsense_jax import constants
from specsense_jax import frames
from specsense_jax.evaluation import captures
from specsense_jax.inference import band_plan
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models
from specsense_jax.io import recordings
from specsense_jax.io import sigmf

SIX = constants.SIX_CLASSES
WLAN, RADAR = SIX.index('WLAN'), SIX.index('Radar')


def test_licensed_band_allows_neither():
  allowed = band_plan.allowed_classes(SIX, 1865e6, 61.44e6, 128)  # band 3 / n3: LTE and NR only
  assert allowed.shape == (128, 6)
  assert not allowed[:, [WLAN, RADAR]].any()
  assert allowed[:, [i for i in range(6) if i not in (WLAN, RADAR)]].all()


def test_band_edge_cuts_between_columns():
  # 2480 MHz ± 30.72 MHz, 0.48 MHz columns from 2449.28 MHz: the 2.4 GHz band ends at 2483.5 MHz, inside column 71
  # ((2483.5 - 2449.28) / 0.48 = 71.3), so columns 0-71 may be WLAN and 72-127 not; no radar band is near
  allowed = band_plan.allowed_classes(SIX, 2480e6, 61.44e6, 128)
  np.testing.assert_array_equal(allowed[:, WLAN], np.arange(128) <= 71)
  assert not allowed[:, RADAR].any()
  # 3.5 GHz (n78, CBRS): radiolocation, not WLAN; 5.6 GHz: both (C-band weather radar inside U-NII-2C)
  at_n78 = band_plan.allowed_classes(SIX, 3500e6, 61.44e6, 128)
  assert at_n78[:, RADAR].all() and not at_n78[:, WLAN].any()
  assert band_plan.allowed_classes(SIX, 5600e6, 61.44e6, 128)[:, [WLAN, RADAR]].all()
  # a model without the restricted classes is unrestricted
  assert band_plan.allowed_classes(constants.FOUR_CLASSES, 1865e6, 61.44e6, 64).all()


@pytest.mark.parametrize('center', [None, 0.0, float('nan')])
def test_needs_a_centre_frequency(center):
  with pytest.raises(ValueError, match=r'band plan needs the recording\'s RF centre frequency .*core:frequency'):
    band_plan.allowed_classes(SIX, center, 61.44e6, 128)


def test_restrict_renormalises_the_allowed_classes():
  p = np.array([[[0.1, 0.2, 0.1, 0.1, 0.4, 0.1], [0.1, 0.2, 0.1, 0.1, 0.4, 0.1]]])  # (1 row, 2 columns, 6)
  allowed = np.ones((2, 6), bool)
  allowed[0, [WLAN, RADAR]] = False
  out = band_plan.restrict(p, allowed)
  np.testing.assert_allclose(out[0, 0], [0.2, 0.4, 0.2, 0.2, 0.0, 0.0])  # 0.5 of the mass kept, doubled
  np.testing.assert_allclose(out[0, 1], p[0, 1])


class _Ranked(nn.Module):
  """Logits that rank WLAN first and NR second on every pixel."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    return jnp.zeros(x.shape[:-1] + (6,)).at[..., WLAN].set(3.0).at[..., 1].set(2.0)


def _stub():
  config = ml_collections.ConfigDict({'image_size': 64, 'class_names': list(SIX), 'spectrogram_mode': 'matlab'})
  return trained_models.TrainedModel('stub', config, _Ranked(), {})


def _recording(tmp_path, center):
  rng = np.random.default_rng(0)
  iq = ((rng.normal(size=61_440) + 1j * rng.normal(size=61_440)) * 0.1).astype(np.complex64)
  return sigmf.write_recording(str(tmp_path / f'rec_{center / 1e6:g}'), iq, 15.36e6, center_frequency=center,
                               annotations=[{'sample_start': 0, 'sample_count': 61_440, 'label': 'NR',
                                             'freq_lower_edge': -7e6, 'freq_upper_edge': 7e6}])


@pytest.mark.parametrize('center,expected', [(1865e6, 1), (5500e6, WLAN)])
def test_predict_frames_under_the_band_plan(tmp_path, center, expected):
  recording = recordings.read_recording(_recording(tmp_path, center))
  cut = list(frames.recording_frames(recording, (64, 64), 'matlab'))
  plain = [mask for _, mask, _ in predict.predict_frames(_stub(), cut)]
  prior = [(mask, p) for _, mask, p in predict.predict_frames(_stub(), cut, band_plan=True)]
  valid = plain[0] != constants.NO_LABEL
  assert (plain[0][valid] == WLAN).all()
  assert (prior[0][0][valid] == expected).all()
  np.testing.assert_allclose(prior[0][1].sum(-1), 1.0, rtol=1e-5)
  # the capture benchmark: every pixel called WLAN without the prior, none with it at 1865 MHz
  rows = [captures.evaluate_recording(_stub(), recording, band_plan=b) for b in (False, True)]
  assert rows[0]['called_bursty'] == 1.0
  assert rows[1]['called_bursty'] == (0.0 if expected == 1 else 1.0)


def test_run_predict_refuses_the_band_plan_without_a_frequency(tmp_path):
  rng = np.random.default_rng(1)
  iq = (rng.normal(size=30_720) + 1j * rng.normal(size=30_720)).astype(np.complex64) * 0.1
  meta = sigmf.write_recording(str(tmp_path / 'no_centre'), iq, 15.36e6)  # core:frequency 0: unknown
  with pytest.raises(ValueError, match='band plan needs'):
    predict.run_predict([meta], str(tmp_path / 'out'), figures=False, band_plan=True)
  assert not (tmp_path / 'out').exists() and not (tmp_path / 'out.partial').exists()


def test_models_with_restricted_classes_default_to_the_band_plan():
  assert _stub().band_plan
  four = ml_collections.ConfigDict({'image_size': 64, 'class_names': list(constants.FOUR_CLASSES)})
  assert not trained_models.TrainedModel('four', four, _Ranked(), {}).band_plan
  off = ml_collections.ConfigDict({'image_size': 64, 'class_names': list(SIX), 'band_plan': False})
  assert not trained_models.TrainedModel('off', off, _Ranked(), {}).band_plan


@pytest.mark.parametrize('requested,center,expected_plan,expected_class', [
    (None, 1865e6, True, 1),      # the model's default where the frequency is known
    (False, 1865e6, False, WLAN),  # --noband_plan: the network alone
    (None, 0.0, False, WLAN),      # frequency unknown: the default cannot apply, and is recorded off
])
def test_run_predict_follows_the_model_default(tmp_path, monkeypatch, requested, center, expected_plan,
                                               expected_class):
  monkeypatch.setattr(predict, '_load', lambda name: _stub())
  rng = np.random.default_rng(2)
  iq = ((rng.normal(size=30_720) + 1j * rng.normal(size=30_720)) * 0.1).astype(np.complex64)
  meta = sigmf.write_recording(str(tmp_path / 'rec'), iq, 15.36e6, center_frequency=center)
  document = predict.run_predict([meta], str(tmp_path / 'out'), model='six', figures=False, band_plan=requested)
  assert document['band_plan'] is expected_plan
  mask = np.load(tmp_path / 'out' / 'frame_0000_mask.npy')
  assert set(np.unique(mask)) == {expected_class, constants.NO_LABEL}
