r"""Runs the project's benchmarks and prints a table per stage; writes JSON.

  python -m launch.benchmark                       # every registered benchmark
  python -m launch.benchmark generation --repeats=7 --output=benchmarks/generation.json
  python -m launch.benchmark predict --models=runs/realistic    # a trained network beside the shipped ones
  python -m launch.benchmark predict --baseline=../old   # against another checkout (git worktree add ../old REV)
  python -m launch.benchmark models --peer         # beside segmentation_models_pytorch (pip install -e ".[bench]")
  python -m launch.benchmark pipeline --dataset=spectrum_sensing/synthetic_128 --data_dir=DIR   # data rate
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.benchmarks import harness

_OUTPUT = flags.DEFINE_string('output', 'benchmarks/results.json', 'JSON report path ("" to skip).')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed repeats; medians are reported.', lower_bound=1)
_QUICK = flags.DEFINE_bool('quick', False, 'Small problem sizes (smoke test of the harness).')
_MODELS = flags.DEFINE_list('models', [], 'More networks for `predict` (shipped names, packaged folders or '
                            'workdirs), timed beside the shipped ones in the same run.')
_PEER = flags.DEFINE_bool('peer', False, '`models`: time segmentation_models_pytorch\'s DeepLabV3Plus doing the '
                          'same work in a subprocess, and print our ratio to it.')
_PEER_PYTHON = flags.DEFINE_string('peer_python', '', 'The interpreter with torch and segmentation-models-pytorch '
                                   'for --peer (default: this one).')
_DATASET = flags.DEFINE_string('dataset', '', '`pipeline`: the TFDS dataset (default spectrum_sensing/synthetic_tiny).')
_DATA_DIR = flags.DEFINE_string('data_dir', '', '`pipeline`: its TFDS data directory.')
_BASELINE = flags.DEFINE_string('baseline', '', '`predict`: another checkout of this project (e.g. a git worktree '
                                'of an older commit); its default model and ours alternate in one run, with ratios.')


def main(argv):
  names = argv[1:]
  unknown = [n for n in names if n not in harness.BENCHMARKS]
  if unknown:
    raise app.UsageError(f'Unknown benchmark(s) {unknown}; known: {sorted(harness.BENCHMARKS)}')
  options = harness.Options(repeats=_REPEATS.value, quick=_QUICK.value, models=tuple(_MODELS.value),
                            peer=_PEER.value, peer_python=_PEER_PYTHON.value,
                            dataset=_DATASET.value, data_dir=_DATA_DIR.value, baseline=_BASELINE.value)
  harness.run_benchmarks(names, options, _OUTPUT.value or None)


if __name__ == '__main__':
  console.run(main)
