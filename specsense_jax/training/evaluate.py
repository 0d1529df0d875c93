"""One pass of a model over a split: the task's metrics, the mean loss, and metrics per group of examples.

Training's validation, the test evaluation at the end of training and `evaluation.reports.evaluate_workdir`
(`launch.evaluate`) all run `evaluate_batches` on the jitted `eval_step` of `steps.make_steps`, which returns
the predictions and the loss of a batch from one forward pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Sequence

import jax
import numpy as np

from specsense_jax.training import tasks

# host batch (valid examples only, no images) -> for each example, the names of the groups it belongs to
GroupFn = Callable[[dict[str, np.ndarray]], Sequence[Iterable[str]]]


@dataclasses.dataclass
class Evaluation:
  """What one pass over a split gives.

  Attributes:
    metrics: the task accumulator's result plus 'loss' (mean over valid examples of the per-batch loss).
    count: valid examples seen.
    groups: group name -> the task accumulator's result plus 'num_images' (empty without a group function).
    samples: the first `keep_samples` valid examples: 'image', 'mask', 'signals', ... and 'predictions'
      (host arrays), or None.
  """
  metrics: dict[str, Any]
  count: int
  groups: dict[str, dict[str, Any]]
  samples: dict[str, np.ndarray] | None = None


def to_host(tree):
  """numpy copies of (possibly multi-process, sharded) arrays, gathered from every process."""
  if jax.process_count() == 1:
    return jax.tree.map(np.asarray, tree)
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return multihost_utils.process_allgather(tree, tiled=True)


def evaluate_batches(eval_step: Callable, variables: Any, batches: Iterable[dict[str, jax.Array]], task: tasks.Task,
                     num_classes: int, *, group_fn: GroupFn | None = None, keep_samples: int = 0) -> Evaluation:
  """Runs `eval_step` over `batches` and feeds the task's accumulators.

  Every process must call this with the same batches (moving results to the host is collective).

  Args:
    eval_step: `steps.Steps.eval_step`: (variables, batch) -> (predictions, mean loss over the batch's valid rows).
    variables: {'params', 'batch_stats'} placed for `eval_step` (`steps.Steps.place_state`).
    batches: global batches with a 'valid' weight per row (0 for padding), as `pipeline.global_batches` yields;
      masks in the model's class ids, with `NO_LABEL` where no label counts (`pipeline.input_pipeline` with the
      model's `class_names` maps a dataset with other classes), which no loss or metric counts.
    task: the model's task (its accumulator and predictions).
    num_classes: classes of the model's output.
    group_fn: optional; names the groups of each example, each group gets its own accumulator.
    keep_samples: how many of the first valid examples to return with their predictions (for figures).

  Returns:
    Evaluation.
  """
  overall = task.accumulator(num_classes)
  groups: dict[str, Any] = {}
  loss_sum, count, samples = 0.0, 0, None
  for batch in batches:
    predictions, loss = eval_step(variables, batch)
    wanted = [k for k in batch if k != 'image' or (keep_samples and samples is None)]
    host, predictions = to_host(({k: batch[k] for k in wanted}, predictions))
    valid = host['valid'] > 0
    host, predictions = {k: v[valid] for k, v in host.items()}, predictions[valid]
    overall.add(host, predictions)
    loss_sum += float(loss) * int(valid.sum())
    count += int(valid.sum())
    if keep_samples and samples is None:
      samples = {**{k: v[:keep_samples] for k, v in host.items()}, 'predictions': predictions[:keep_samples]}
    if group_fn is not None:
      members: dict[str, list[int]] = {}
      for i, names in enumerate(group_fn(host)):
        for name in names:
          members.setdefault(name, []).append(i)
      for name, rows in members.items():
        groups.setdefault(name, task.accumulator(num_classes)).add({k: v[rows] for k, v in host.items()},
                                                                   predictions[rows])
  metrics = {**overall.result(), 'loss': loss_sum / max(count, 1)}
  return Evaluation(metrics, count, {name: {'num_images': acc.count, **acc.result()}
                                     for name, acc in sorted(groups.items())}, samples)
