"""Command-line entry points (`python -m launch.<name>`): they parse flags and call the library.

Before any of them runs, `python -m launch.*` restarts itself once with glibc's `malloc.hugetlb` tunable on
Linux. XLA:CPU maps a fresh temporary arena for every executed step (748 MB for a DeepLabv3+ ResNet-18 training
step at 128x128, batch 16) and glibc returns it to the system afterwards, so each step page-faults the whole
arena in 4 KB pages (~190,000 faults). Transparent huge pages, which this tunable asks for, cut that to ~1,000
faults and the step from 23 to 29 images/s on a 2-core CPU. SPECSENSE_HUGEPAGE_MALLOC=0 turns this off; it is
harmless where glibc or the kernel lack the feature.

They also run XLA:CPU's convolutions and matmuls on its own (Eigen) kernels instead of YNNPACK, which jaxlib
0.10 uses by default (`XLA_CPU_FLAGS`, from `specsense_jax.xla_cpu`, added to XLA_FLAGS unless they set that flag
already; the train step's own options are there too): on a 2-core CPU the
default network trains at 73 instead of 50 images/s and infers at 258 instead of 162, DeepLabv3+ ResNet-18 infers
20 % faster, ResNet-50 is unchanged (`launch.benchmark models`, same run). The flag is only set for jaxlib
releases known to have it (an unknown XLA flag is fatal); SPECSENSE_XLA_CPU_FLAGS=0 leaves XLA_FLAGS alone. The
flags name the CPU backend only: accelerators are unaffected.
"""

import os
import sys

from specsense_jax import xla_cpu  # no JAX import: XLA_FLAGS are set before JAX starts

_TUNABLE = 'glibc.malloc.hugetlb=1'


def _restart_with_huge_page_malloc() -> None:
  # Only `python -m launch.x` (sys.argv[0] is '-m' while the module is located), never an importing process.
  if (sys.platform != 'linux' or sys.argv[:1] != ['-m'] or os.environ.get('SPECSENSE_HUGEPAGE_MALLOC') == '0'
      or 'glibc.malloc.hugetlb' in os.environ.get('GLIBC_TUNABLES', '')):
    return
  tunables = ':'.join(filter(None, [os.environ.get('GLIBC_TUNABLES', ''), _TUNABLE]))
  sys.stdout.flush()
  sys.stderr.flush()
  os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], dict(os.environ, GLIBC_TUNABLES=tunables))


_restart_with_huge_page_malloc()

XLA_CPU_FLAGS = xla_cpu.PROCESS_FLAGS
_FLAGS_KNOWN_IN = xla_cpu.FLAGS_KNOWN_IN  # jaxlib releases whose XLA has the flag (checked: 0.10.2)


def _add_xla_cpu_flags() -> None:
  # As the restart: only `python -m launch.x`, never a process that imports this package.
  if (sys.argv[:1] != ['-m'] or xla_cpu.opted_out()
      or xla_cpu.YNN_FLAG in os.environ.get('XLA_FLAGS', '')):
    return
  try:
    from importlib import metadata  # pylint: disable=g-import-not-at-top
    version = metadata.version('jaxlib')
  except Exception:  # no jaxlib metadata: leave XLA alone
    return
  if version.startswith(_FLAGS_KNOWN_IN):
    os.environ['XLA_FLAGS'] = ' '.join(filter(None, [os.environ.get('XLA_FLAGS', ''), XLA_CPU_FLAGS]))


_add_xla_cpu_flags()
# Before TensorFlow loads: its C++ INFO and WARNING lines (CPU-feature and oneDNN notices, tf.data notes) are
# not for users unless they ask with absl's --verbosity (see specsense_jax/console.py). TensorFlow only feeds data here, so
# its oneDNN math kernels (whose notice ignores the log level) are not used anyway.
if not any(arg.startswith(('--verbosity=', '--v=')) and arg.split('=')[1].isdigit() and arg.split('=')[1] != '0'
           for arg in sys.argv):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
