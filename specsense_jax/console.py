"""How every `python -m launch.*` run starts and stops: a quiet console, one line for a user's mistake.

By default the console shows what a person acts on: results, progress bars, warnings about their data. absl's
and Orbax's INFO lines, Python warnings from libraries and TensorFlow's C++ log stay hidden; absl's own
`--verbosity=1` brings them back. A mistake (a missing file, a bad flag value, an unknown config key, a dataset
that is not built) prints one line naming the problem and the fix and exits with status 2; `--verbosity=1`
shows the traceback instead.
"""

import re
import sys
from typing import Callable, NoReturn
import warnings

from absl import app
from absl import flags
from absl import logging

# Exceptions the library raises for what a user asked (its messages name the file, flag or key and the fix).
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, app.UsageError)
USAGE_STATUS = 2


def _verbose(argv: list[str]) -> bool:
  """Whether --verbosity (or -v) asks for INFO or more, read from argv so it works before flags parse."""
  for arg in argv[1:]:
    match = re.fullmatch(r'--(?:verbosity|v)=(-?\d+)', arg)
    if match:
      return int(match.group(1)) >= 1
  return False


def fail(message: str) -> NoReturn:
  """Prints `message` as one line on stderr and exits with the usage status."""
  print(f'error: {" ".join(str(message).split())}', file=sys.stderr)
  sys.exit(USAGE_STATUS)


def _parse_flags(argv: list[str]) -> list[str]:
  try:
    rest = flags.FLAGS(argv)
  except flags.Error as e:
    fail(f'{e} (see --helpshort)')
  except (AttributeError, KeyError) as e:  # ml_collections: an override of a key the config does not have
    text = str(e).replace('\\', '')
    key = re.search(r"'([\w.]+)'", text)
    hint = re.search(r'Did you mean "([\w.]+)"', text)
    flag = next((a.split('=')[0] for a in argv if key and a.startswith('--config.') and key.group(1) in a),
                '--config.<key>')
    fail(f'{flag}: the config has no such key' + (f'; did you mean --config.{hint.group(1)}?' if hint else
                                                  '; see the config file for its keys'))
  for name in flags.FLAGS:  # ml_collections defers a config file's load error until its value is read
    try:
      getattr(flags.FLAGS[name].value, 'keys', None)  # a config that failed to load raises on any attribute
    except OSError as e:
      fail(f'--{name}: {str(e).strip().splitlines()[-1].strip()}')
  return rest


def _quiet() -> None:
  if flags.FLAGS['verbosity'].present:
    return
  logging.set_verbosity(logging.WARNING)
  warnings.filterwarnings('ignore', category=DeprecationWarning)
  warnings.filterwarnings('ignore', category=FutureWarning)


def _leave_accelerators_to_jax() -> None:
  # TensorFlow (tf.data here) would claim the GPUs JAX needs; launchers that read data hand them to JAX.
  tf = sys.modules.get('tensorflow')
  if tf is not None:
    tf.config.set_visible_devices([], 'GPU')


def run(main: Callable[[list[str]], None]) -> None:
  """`app.run(main)` with the quiet console and one-line user errors."""
  def wrapped(argv: list[str]) -> None:
    _quiet()
    _leave_accelerators_to_jax()
    try:
      main(argv)
    except USER_ERRORS as e:
      if _verbose(sys.argv):
        raise
      fail(str(e))
  app.run(wrapped, flags_parser=_parse_flags)

