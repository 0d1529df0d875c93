"""Frames of synthetic TFDS configs as .npy, without TensorFlow (for a GPU machine that has none).

  python scripts/device/gen_frames.py CONFIG[,CONFIG...] OUTDIR [--frames N]

CONFIG is a synthetic config of the spectrum_sensing builder (realistic_256, synthetic_256, ...), its spec read
from `scripts/device/specs.json` (written by `assemble.py --specs`, where TFDS is installed). Example k is
`examples.synthetic_example(spec, k)`, the builder's own call, so the frames are the dataset's (checked byte for
byte against a TFDS build of synthetic_256); split k mod 10 as the builder's. Writes per config and split
NAME_SPLIT_{grey,mask,signals}.npy: grey levels (`spectrogram.decolorize` of the image), the mask, the NR, LTE,
Unknown flags; then OUTDIR/DONE. Workers: $GEN_WORKERS or all cores.
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # the package
# pylint: disable=wrong-import-position
from specsense_jax import spectrogram
from specsense_jax.data import examples
from specsense_jax.data import splits

SPECS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'specs.json')


def load_spec(name: str) -> examples.SyntheticSpec:
  with open(SPECS) as f:
    specs = json.load(f)
  if name not in specs:
    raise ValueError(f'{SPECS} has no config {name!r}; it has {sorted(specs)} (add it with assemble.py --specs)')
  fields = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
            for k, v in specs[name].items()}
  return examples.SyntheticSpec(**fields)


def main(argv):
  names, out = argv[1].split(','), argv[2]
  limit = int(argv[argv.index('--frames') + 1]) if '--frames' in argv else None
  workers = int(os.environ.get('GEN_WORKERS', os.cpu_count() or 1))
  os.makedirs(out, exist_ok=True)
  for name in names:
    start = time.time()
    spec = load_spec(name)
    n = min(spec.num_frames, limit or spec.num_frames)
    grey = np.zeros((n, spec.image_size, spec.image_size), np.uint8)
    mask = np.zeros_like(grey)
    signals = np.zeros((n, 3), np.float32)
    for k, ex in examples.synthetic_examples(spec, range(n), num_workers=workers, progress=False):
      grey[k] = spectrogram.decolorize(ex['image'])
      mask[k] = ex['mask'][..., 0]
      signals[k] = ex['signals'][:3]
    which = np.array([splits.split_of(k) for k in range(n)])
    for split in splits.SPLITS:
      for what, array in (('grey', grey), ('mask', mask), ('signals', signals)):
        np.save(os.path.join(out, f'{name}_{split}_{what}.npy'), array[which == split])
    print(f'gen_frames: {name}: {n} frames in {time.time() - start:.0f} s', flush=True)
  open(os.path.join(out, 'DONE'), 'w').close()


if __name__ == '__main__':
  main(sys.argv)
