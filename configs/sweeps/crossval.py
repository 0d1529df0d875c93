r"""3-fold cross-validation of the default network, one sweep point per fold (run them in parallel).

  python -m launch.sweep --sweep=configs/sweeps/crossval.py --root=runs/cv --parallel=3

results.md ranks the folds; their held-out metrics are each point's test_* columns, and the table's
summary rows give their mean and spread. `python -m launch.crossval` does the same in one process.
"""

NUM_FOLDS = 3


def sweep(add):
  for fold in range(NUM_FOLDS):
    add('configs/default.py', name=f'fold_{fold}', fold=fold, num_folds=NUM_FOLDS)
