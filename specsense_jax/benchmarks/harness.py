"""Benchmark harness: a registry of per-stage benchmarks, robust timing, a table and a JSON report.

Each stage registers a function `run(options) -> list[dict]` under a name (see `BENCHMARKS`); every dict is
one row of the printed table. Timings are medians over repeats because this machine is shared and noisy;
comparisons are made between things measured in the same run.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

# name -> "module:function"; imported lazily so one stage's heavy imports never slow another.
BENCHMARKS: dict[str, str] = {
    'cellsearch': 'specsense_jax.benchmarks.cellsearch:run',
    'devices': 'specsense_jax.benchmarks.devices:run',
    'generation': 'specsense_jax.benchmarks.generation:run',
    'models': 'specsense_jax.benchmarks.models:run',
    'pipeline': 'specsense_jax.benchmarks.pipeline:run',
    'predict': 'specsense_jax.benchmarks.predict:run',
}


@dataclasses.dataclass(frozen=True)
class Options:
  """Options shared by all benchmarks."""
  repeats: int = 5
  quick: bool = False  # smaller problem sizes, for smoke tests of the harness itself
  models: tuple[str, ...] = ()  # more networks (names, packaged folders, workdirs) for the benchmarks that take them
  peer: bool = False  # models: segmentation_models_pytorch's DeepLabV3Plus beside ours, in the same run
  peer_python: str = ''  # the interpreter with torch and smp for the peer (default: this one)
  dataset: str = ''  # pipeline: the TFDS dataset to read (default: spectrum_sensing/synthetic_tiny)
  data_dir: str = ''  # pipeline: its TFDS data directory
  baseline: str = ''  # predict: another checkout of this project, alternated with this one in the same run


@dataclasses.dataclass(frozen=True)
class Timing:
  """Wall and process-CPU time of repeated calls (seconds)."""
  median_s: float
  min_s: float
  cpu_median_s: float  # process CPU time: all threads, i.e. core-seconds
  samples: tuple[float, ...]


def time_call(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> Timing:
  """Times `fn()` `repeats` times after `warmup` untimed calls.

  Args:
    fn: the work; its result is discarded (block on device results inside `fn`).
    repeats: timed calls; the median is reported.
    warmup: untimed calls first (compilation, caches).

  Returns:
    A `Timing` with wall-clock and process CPU medians.
  """
  if repeats < 1:
    raise ValueError(f'repeats must be >= 1, got {repeats}')
  for _ in range(warmup):
    fn()
  walls, cpus = [], []
  for _ in range(repeats):
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    walls.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
  return Timing(statistics.median(walls), min(walls), statistics.median(cpus), tuple(walls))


def resolve(name: str) -> Callable[[Options], list[dict]]:
  """Returns the benchmark function registered as `name`."""
  if name not in BENCHMARKS:
    raise ValueError(f'Unknown benchmark {name!r}; known: {", ".join(sorted(BENCHMARKS))}')
  module_name, fn_name = BENCHMARKS[name].split(':')
  return getattr(importlib.import_module(module_name), fn_name)


def format_table(rows: list[dict]) -> str:
  """Formats rows (dicts) as an aligned plain-text table; floats get 4 significant digits."""
  if not rows:
    return '(no rows)'
  columns: list[str] = []
  for row in rows:
    columns.extend(k for k in row if k not in columns)

  def cell(v):
    if isinstance(v, float):
      return f'{v:.4g}'
    return '' if v is None else str(v)

  table = [columns] + [[cell(r.get(c)) for c in columns] for r in rows]
  widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
  lines = ['  '.join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in table]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def environment() -> dict:
  """What the numbers were measured on."""
  import jax  # pylint: disable=g-import-not-at-top
  return {
      'python': platform.python_version(),
      'machine': platform.machine(),
      'cpu_count': os.cpu_count(),
      'jax': jax.__version__,
      'backend': jax.default_backend(),
      'devices': [str(d) for d in jax.devices()],
      'glibc_tunables': os.environ.get('GLIBC_TUNABLES', ''),  # launch.* sets malloc.hugetlb (launch/__init__)
      'xla_flags': os.environ.get('XLA_FLAGS', ''),  # and XLA:CPU's kernel choice
      'time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
  }


def run_benchmarks(names: list[str], options: Options, output_path: str | None = None,
                   echo: Callable[[str], None] = print) -> dict:
  """Runs the named benchmarks, prints a table for each and optionally writes JSON.

  Args:
    names: registered benchmark names; empty means all.
    options: shared options.
    output_path: JSON file to write (parent folders are created), or None.
    echo: where the tables go.

  Returns:
    {'environment': ..., 'results': {name: rows}}.
  """
  names = list(names) or sorted(BENCHMARKS)
  fns = {name: resolve(name) for name in names}  # fail on a typo before running anything
  report = {'environment': environment(), 'options': dataclasses.asdict(options), 'results': {}}
  for name, fn in fns.items():
    rows = fn(options)
    report['results'][name] = rows
    echo(f'\n== {name}\n{format_table(rows)}')
  if output_path:
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    tmp = output_path + '.tmp'
    with open(tmp, 'w') as f:
      json.dump(report, f, indent=2, default=str)
    os.replace(tmp, output_path)
    echo(f'\nwrote {output_path}')
  return report
