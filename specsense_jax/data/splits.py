"""Which examples belong to which split: dataset splits by frame, recordings, and cross-validation folds."""

from __future__ import annotations

import hashlib

import ml_collections

SPLITS = ('train', 'validation', 'test')


def split_of(index: int) -> str:
  """80 / 10 / 10 by frame index."""
  return 'train' if index % 10 < 8 else ('validation' if index % 10 == 8 else 'test')


def split_of_name(name: str) -> str:
  """80 / 10 / 10 for captured frames, by a stable hash of recording and frame."""
  return split_of(int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], 'little'))


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
