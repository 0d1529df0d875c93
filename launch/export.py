r"""Exports a trained network's inference function with jax.export (weights included).

  python -m launch.export --output=model.jaxexport                      # the shipped default model
  python -m launch.export --model=runs/default --output=model.jaxexport --platforms=cpu,cuda

Load it elsewhere with JAX only: `jax.export.deserialize(open(path, 'rb').read()).call(images)`.
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.inference import export
from specsense_jax.inference import trained_models

_MODEL = flags.DEFINE_string('model', trained_models.DEFAULT,
                             'A shipped model name, a packaged model folder or a training workdir.')
_OUTPUT = flags.DEFINE_string('output', None, 'File to write (a .json description is written beside it).',
                              required=True)
_PLATFORMS = flags.DEFINE_list('platforms', ['cpu'], f'Platforms to lower for: {export.PLATFORMS}.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  trained = trained_models.load(_MODEL.value)
  exported = export.export(trained, _PLATFORMS.value)
  export.save(exported, _OUTPUT.value, trained)
  print(f'wrote {_OUTPUT.value} ({trained.config.model}, {trained.image_size}x{trained.image_size}, '
        f'platforms {list(exported.platforms)})')


if __name__ == '__main__':
  console.run(main)
