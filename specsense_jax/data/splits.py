"""Which examples belong to which split: synthetic frames by index, captured recordings whole, and
cross-validation folds."""

from __future__ import annotations

import hashlib
from typing import Sequence

import ml_collections

SPLITS = ('train', 'validation', 'test')


def split_of(index: int) -> str:
  """80 / 10 / 10 by frame index."""
  return 'train' if index % 10 < 8 else ('validation' if index % 10 == 8 else 'test')


def recording_splits(names: Sequence[str]) -> dict[str, str]:
  """Split of each captured recording: whole recordings, so neighbouring frames never land in two splits.

  The recordings are ordered by a SHA-256 of their name (the same order on any machine, whatever the order
  given); the first ones go to test, the next to validation, the rest to train: with n >= 3 recordings,
  max(1, round(n / 10)) each to test and validation; with 2, one to test; with 1, train only. Which recording
  goes where depends on the whole set, so adding a recording can move others.
  """
  if len(set(names)) != len(names):
    raise ValueError(f'recording names must be unique, got {sorted(names)}')
  ordered = sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())
  held_out = max(1, round(len(names) / 10))
  num_test = held_out if len(names) >= 2 else 0
  num_validation = held_out if len(names) >= 3 else 0
  return {name: ('test' if i < num_test else 'validation' if i < num_test + num_validation else 'train')
          for i, name in enumerate(ordered)}


def fold_splits(split: str, num_examples: int, num_folds: int, fold: int) -> tuple[str, str]:
  """(training split, held-out split) TFDS expressions for fold `fold` of `num_folds` contiguous folds."""
  if num_folds < 2 or num_folds > num_examples:
    raise ValueError(f'config.num_folds must be between 2 and the {num_examples} examples of {split!r}, '
                     f'got {num_folds}')
  if not 0 <= fold < num_folds:
    raise ValueError(f'config.fold must be in [0, {num_folds}) for config.num_folds={num_folds}, got {fold}')
  if '[' in split or '+' in split:
    raise ValueError(f'cross-validation needs config.train_split to be a plain split name, got {split!r}')
  bounds = [round(i * num_examples / num_folds) for i in range(num_folds + 1)]
  lo, hi = bounds[fold], bounds[fold + 1]
  rest = ([f'{split}[:{lo}]'] if lo > 0 else []) + ([f'{split}[{hi}:]'] if hi < num_examples else [])
  return '+'.join(rest), f'{split}[{lo}:{hi}]'


def apply_fold(config: ml_collections.ConfigDict, num_examples: int) -> ml_collections.ConfigDict:
  """A copy of `config` training on the other folds of `config.train_split` and testing on `config.fold`."""
  train_split, held_out = fold_splits(config.train_split, num_examples, config.num_folds, config.fold)
  folded = ml_collections.ConfigDict(config.to_dict())
  folded.train_split, folded.test_split = train_split, held_out
  folded.lock()
  return folded
