"""Record writers for the project's TFDS builders.

Kept outside the builders' packages so that Apache Beam workers, which unpickle the writer, import it under
this stable name however the builder itself was loaded (`tfds build PATH` imports a builder under its folder's
name, which workers cannot import).
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import tensorflow_datasets as tfds


class DeterministicExampleWriter(tfds.core.ExampleWriter):
  """TFDS' record writer, writing each tf.train.Example with its feature map in sorted key order.

  TFDS serializes an Example's feature map in protobuf's hash order, which changes from process to process, so
  two builds of the same data (a rebuild, local worker processes, Beam workers) would differ in bytes while
  parsing equal. TFDS offers no serializer option; a builder's `_example_writer` is its documented hook for the
  record writer, so a builder that returns this writer gets canonical records and nothing else in the process
  changes.
  """

  def write(self, path: str | os.PathLike, examples: Iterable[tuple[Any, bytes]]) -> Any:
    """Writes (key, serialized Example) pairs to `path` as TFDS would, each record re-serialized canonically.

    Args:
      path: the shard file TFDS writes.
      examples: (key, serialized tf.train.Example) pairs; TFDS passes them by this name.

    Returns:
      What TFDS' writer returns (record positions for formats that index them, else None).
    """
    import tensorflow as tf  # pylint: disable=g-import-not-at-top  TF loads only when records are written
    canonical = ((key, tf.train.Example.FromString(record).SerializeToString(deterministic=True))
                 for key, record in examples)
    return super().write(path, canonical)
