"""Trained networks shipped with the package, and packaging a training workdir into one.

A packaged model is a folder with `config.json` (the training config), `variables.msgpack` (parameters and
BatchNorm statistics of the best checkpoint, flax.serialization, stored as float16 and loaded as float32) and
`MODEL_CARD.md`. It needs neither Orbax nor the training code's optimizer state, and it loads on any device count.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import ml_collections
import numpy as np

from specsense_jax.inference import band_plan
from specsense_jax.models import registry
from specsense_jax.training import checkpoints
from specsense_jax.training import tasks

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'trained')
DEFAULT = 'custom_realistic_128'


@dataclasses.dataclass
class TrainedModel:
  """A network ready for inference: `model.apply(variables, images, train=False)`."""
  name: str
  config: ml_collections.ConfigDict
  model: nn.Module
  variables: dict[str, Any]

  @property
  def image_size(self) -> int:
    return int(self.config.image_size)

  @property
  def class_names(self) -> tuple[str, ...]:
    """The names of the model's outputs in output order (its recorded class set; see `tasks.class_names`)."""
    return tasks.class_names(self.config)

  @property
  def spectrogram_mode(self) -> str:
    """'matlab' or 'average': how the spectrograms the model was trained on were made (inputs must match)."""
    return config_spectrogram_mode(self.config)

  @property
  def temperature(self) -> float:
    """The logits' divisor that calibrates the model's confidences (`evaluation.calibration`; 1.0 when none was
    fitted)."""
    return float(self.config.get('calibration_temperature') or 1.0)

  @property
  def log_prior(self) -> np.ndarray:
    """(classes,) float32 log factors added to the calibrated logits before the softmax: the recorded
    `class_prior` ({class name: factor}, `evaluation.class_prior`); a scalar 0 where none was selected."""
    return log_prior(self.config)

  @property
  def band_plan(self) -> bool:
    """Whether `run_predict` applies the band-plan prior by default (where the recording's centre frequency is
    known): the config's `band_plan` where recorded, else whether the model has a class the prior restricts."""
    recorded = self.config.get('band_plan')
    if recorded is not None:
      return bool(recorded)
    return any(name in band_plan.ALLOCATIONS_HZ for name in self.class_names)

  @property
  def image_scaling(self) -> str:
    """The grey-level scaling of the images the model was trained on ('minmax' for configs before it was
    recorded); inputs get the same."""
    return self.config.get('image_scaling') or 'minmax'


def log_prior(config: ml_collections.ConfigDict) -> np.ndarray:
  """`TrainedModel.log_prior` of a model's config. A ValueError names the `class_prior` key when it is not a
  mapping of the model's classes to finite positive factors, or belongs to a frame classifier (whose per-standard
  sigmoids a prior does not renormalise)."""
  prior = config.get('class_prior') or {}
  if not prior:
    return np.zeros((), np.float32)  # adds nothing, whatever the class count
  names = tasks.class_names(config)
  if not hasattr(prior, 'items'):
    raise ValueError(f'config class_prior must be {{class name: factor}}, got {prior!r}')
  prior = dict(prior.items())
  if tasks.task_for_model(config.model) is not tasks.SEGMENTATION:
    raise ValueError(f'config class_prior is for segmentation models; {config.model} is a frame classifier')
  factors = [float(f) if isinstance(f, (int, float)) else np.nan for f in prior.values()]
  if any(name not in names for name in prior) or not all(np.isfinite(f) and f > 0 for f in factors):
    raise ValueError(f'config class_prior must map classes of the model {names} to finite positive factors, got '
                     f'{prior}')
  return np.log(np.array([float(prior.get(name, 1.0)) for name in names], np.float32))


def config_spectrogram_mode(config) -> str:
  """The spectrogram mode of a training config (ConfigDict or dict), as training recorded it from its dataset
  ('matlab' for configs written before it was recorded)."""
  return config.get('spectrogram_mode') or 'matlab'


def _with_class_count(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """`config` with `num_classes` set from its recorded class names when it lacks one; a ValueError when the two
  disagree. The model is built with this count, the one it was trained with."""
  count = len(tasks.class_names(config))
  if config.get('num_classes') != count:
    with config.unlocked():
      config.num_classes = count
  return config


def shipped_names(spectrogram_mode: str | None = None) -> list[str]:
  """Names of the shipped models; only those trained on `spectrogram_mode` images when given."""
  names = sorted(d for d in os.listdir(SHIPPED_DIR) if os.path.isfile(os.path.join(SHIPPED_DIR, d, 'config.json')))
  if spectrogram_mode is None:
    return names
  def mode(name):
    with open(os.path.join(SHIPPED_DIR, name, 'config.json')) as f:
      return config_spectrogram_mode(json.load(f))
  return [name for name in names if mode(name) == spectrogram_mode]


def resolve(name_or_dir: str) -> str:
  """The folder of a packaged model, a training workdir or a shipped model's name."""
  if os.path.isdir(name_or_dir):
    return name_or_dir
  path = os.path.join(SHIPPED_DIR, name_or_dir)
  if not os.path.isdir(path):
    raise ValueError(f'{name_or_dir!r} is neither a packaged model folder nor a shipped model; shipped: '
                     f'{shipped_names()}')
  return path


def load(name_or_dir: str = DEFAULT) -> TrainedModel:
  """A shipped model by name, a packaged model folder, or a training workdir (its best checkpoint, restored
  without the optimizer state)."""
  path = resolve(name_or_dir)
  if not os.path.exists(os.path.join(path, checkpoints.PACKAGED_VARIABLES)) and checkpoints.has_trained_weights(path):
    config = _with_class_count(checkpoints.load_config(path))
    return TrainedModel(os.path.basename(os.path.normpath(path)), config, registry.build_from_config(config),
                        checkpoints.restore_variables(path))
  config_path, variables_path = os.path.join(path, 'config.json'), os.path.join(path, checkpoints.PACKAGED_VARIABLES)
  for required in (config_path, variables_path):
    if not os.path.isfile(required):
      raise ValueError(f'{path} is not a packaged model: {os.path.basename(required)} is missing')
  with open(config_path) as f:
    config = _with_class_count(ml_collections.ConfigDict(json.load(f)))
  model = registry.build_from_config(config)
  template = jax.eval_shape(model.init, jax.random.key(0),
                            jax.ShapeDtypeStruct((1, config.image_size, config.image_size, 3), 'float32'))
  with open(variables_path, 'rb') as f:
    try:
      variables = flax.serialization.from_bytes(template, f.read())
    except Exception as e:  # msgpack and structure errors come in several types
      raise ValueError(f'{variables_path}: not the variables of {config.model} ({e})') from None
  # float16 on disk (or float32 in models packaged before), the template's dtypes in memory
  variables = jax.tree.map(lambda x, t: np.asarray(x, t.dtype), variables, template)
  try:
    log_prior(config)
  except ValueError as e:
    raise ValueError(f'{config_path}: {e}') from None
  return TrainedModel(os.path.basename(os.path.normpath(path)), config, model, variables)


def to_storage(variables: Any) -> Any:
  """`variables` as a packaged model stores them: float32 arrays as float16 (half the size; loading casts them
  back, and the outputs move by about 1e-3), other arrays as they are. Values beyond float16's range refuse."""
  def store(x):
    x = np.asarray(x)
    if x.dtype != np.float32:
      return x
    if np.abs(x).max(initial=0) > np.finfo(np.float16).max:
      raise ValueError(f'a variable of shape {x.shape} exceeds the float16 range ({np.abs(x).max():g})')
    return x.astype(np.float16)
  return jax.tree.map(store, variables)


def packaged_config(model: str) -> tuple[str, dict[str, Any]]:
  """(path, contents) of a packaged or shipped model's config.json, read without loading the weights. Training
  workdirs are refused: package them first."""
  model_dir = resolve(model)
  path = os.path.join(model_dir, 'config.json')
  if not os.path.isfile(path) or not os.path.isfile(os.path.join(model_dir, checkpoints.PACKAGED_VARIABLES)):
    raise ValueError(f'{model_dir}: not a packaged model (config.json and {checkpoints.PACKAGED_VARIABLES}); '
                     'package it first (launch.export or trained_models.package)')
  with open(path) as f:
    return path, json.load(f)


def update_packaged_config(model: str, updates: dict[str, Any]) -> str:
  """Sets `updates` in a packaged or shipped model's config.json (each key replaced whole; the file written
  atomically); returns its path. Training workdirs are refused: package them first."""
  path, config = packaged_config(model)
  config.update(updates)
  with open(path + '.tmp', 'w') as f:
    json.dump(config, f, indent=1)
  os.replace(path + '.tmp', path)
  return path


def package(workdir: str, output_dir: str) -> str:
  """Writes the best checkpoint of `workdir` as a packaged model into `output_dir` (created; must not exist).

  Copies test_metrics.json, the evaluation report and confusion matrix (`launch.evaluate`'s `eval_test`) and the
  per-capture table (`launch.evaluate_captures --output=WORKDIR/captures`) when the workdir has them. Returns
  `output_dir`.
  """
  if os.path.exists(output_dir):
    raise ValueError(f'{output_dir} exists; choose a new folder')
  config = checkpoints.load_config(workdir)
  variables = jax.device_get(checkpoints.restore_variables(workdir))
  with config.unlocked():
    config.data_dir = None  # a path of the training machine
    config.spectrogram_mode = config_spectrogram_mode(config)  # what predict must feed it
    config.class_names = list(tasks.class_names(config))  # what its outputs mean
  staging = output_dir + '.tmp'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  with open(os.path.join(staging, checkpoints.PACKAGED_VARIABLES), 'wb') as f:
    f.write(flax.serialization.to_bytes(to_storage(variables)))
  with open(os.path.join(staging, 'config.json'), 'w') as f:
    f.write(config.to_json_best_effort(indent=1))
  for extra in ('test_metrics.json', 'history.json', os.path.join('eval_test', 'report.md'),
                os.path.join('eval_test', 'confusion_matrix.png'), os.path.join('captures', 'captures.md'),
                os.path.join('captures', 'captures.json')):
    if os.path.exists(os.path.join(workdir, extra)):
      shutil.copy(os.path.join(workdir, extra), os.path.join(staging, os.path.basename(extra)))
  os.replace(staging, output_dir)
  return output_dir
