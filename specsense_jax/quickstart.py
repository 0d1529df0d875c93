"""The README's main job: everything the framework can do, end to end, on this machine in minutes.

Each stage writes into `workdir` and adds a section to `workdir/report.md`; later capabilities add stages.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable

from specsense_jax import benchmarking


@dataclasses.dataclass
class Report:
  """Markdown report assembled stage by stage."""
  workdir: str
  sections: list[str] = dataclasses.field(default_factory=list)

  def add(self, title: str, body: str) -> None:
    self.sections.append(f'## {title}\n\n{body.strip()}\n')

  def write(self) -> str:
    path = os.path.join(self.workdir, 'report.md')
    with open(path + '.tmp', 'w') as f:
      f.write('# specsense_jax quickstart report\n\n' + '\n'.join(self.sections))
    os.replace(path + '.tmp', path)
    return path


def environment_stage(report: Report) -> None:
  """Records the software and devices the run used."""
  env = benchmarking.environment()
  with open(os.path.join(report.workdir, 'environment.json'), 'w') as f:
    json.dump(env, f, indent=2)
  report.add('Environment', '\n'.join(f'- {k}: {v}' for k, v in env.items()))


STAGES: dict[str, Callable[[Report], None]] = {
    'environment': environment_stage,
}


def run(workdir: str, stages: list[str] | None = None, echo: Callable[[str], None] = print) -> str:
  """Runs the quickstart stages in order and returns the report path."""
  names = stages or list(STAGES)
  unknown = [n for n in names if n not in STAGES]
  if unknown:
    raise ValueError(f'Unknown quickstart stage(s) {unknown}; known: {list(STAGES)}')
  os.makedirs(workdir, exist_ok=True)
  report = Report(workdir)
  for name in names:
    echo(f'[quickstart] {name} ...')
    STAGES[name](report)
  path = report.write()
  echo(f'[quickstart] report: {path}')
  return path
