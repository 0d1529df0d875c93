r"""Learning rate x class weighting for the default network.

  python -m launch.sweep --sweep=configs/sweeps/learning_rate.py --root=runs/lr --parallel=2
"""


def sweep(add):
  for learning_rate in (0.02, 0.05, 0.1, 0.2):
    for weighting in ('median_frequency', 'none'):
      add('configs/default.py', learning_rate=learning_rate, class_weighting=weighting)
