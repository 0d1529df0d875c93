r"""Finds NR and LTE carriers in a recording (or spectrogram images) with a trained network.

  python -m launch.predict --input=capture.sigmf-meta --output=out/            # the shipped default model
  python -m launch.predict --input=iq.bin --dtype=ci16 --sample_rate=30.72e6 --center_freq=3.5e9 --output=out/
  python -m launch.predict --input=a.png,b.png --output=out/ --model=runs/default --average=10
  python -m launch.predict --input=capture.sigmf-meta --output=out/ --model=custom_synthetic_128_average
  python -m launch.predict --input=capture.sigmf-meta --output=out/ --model=runs/six --noband_plan  # no band prior

Writes frame_NNNN_mask.png/.npy, frame_NNNN.png (spectrogram above labels) and detections.json.
"""

from absl import app
from absl import flags

from specsense_jax import console
from specsense_jax.inference import predict
from specsense_jax.inference import trained_models

_INPUT = flags.DEFINE_list('input', None, 'A SigMF recording, raw IQ file, .npy array, or PNG spectrograms.',
                           required=True)
_OUTPUT = flags.DEFINE_string('output', None, 'New (or empty) output folder.', required=True)
_MODEL = flags.DEFINE_string('model', trained_models.DEFAULT, 'Shipped model name, packaged folder or workdir.')
_SAMPLE_RATE = flags.DEFINE_float('sample_rate', None, 'Samples per second (raw IQ and .npy inputs).')
_DTYPE = flags.DEFINE_enum('dtype', None, ['ci8', 'ci16', 'cf32'], 'Sample format of a raw IQ file.')
_CENTER_FREQ = flags.DEFINE_float('center_freq', None, 'Centre frequency in Hz (axes and detections).')
_MODE = flags.DEFINE_enum('mode', None, ['matlab', 'average'],
                          "Spectrogram mode; default: the one the model was trained on (another mode fails).")
_AVERAGE = flags.DEFINE_integer('average', 1, 'Average class scores over this many consecutive frames.')
_FIGURES = flags.DEFINE_bool('figures', True, 'Write the figure of every frame (spectrogram, labels, calibrated '
                             'confidence).')
_BAND_PLAN = flags.DEFINE_bool('band_plan', None, 'Call WLAN and Radar only inside their frequency allocations '
                               '(needs the recording\'s centre frequency); default: on for models with WLAN or '
                               'Radar where the centre frequency is known.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  document = predict.run_predict(_INPUT.value, _OUTPUT.value, model=_MODEL.value, sample_rate=_SAMPLE_RATE.value,
                                 dtype=_DTYPE.value, center_frequency=_CENTER_FREQ.value, mode=_MODE.value,
                                 average=_AVERAGE.value, figures=_FIGURES.value, band_plan=_BAND_PLAN.value)
  for d in document['detections']:
    print(f"{d['standard']:>3} {d['center_frequency_mhz']:10.3f} MHz  {d['bandwidth_mhz']:7.2f} MHz  "
          f"{d['start_s'] * 1e3:8.1f}-{d['end_s'] * 1e3:.1f} ms  confidence {d['confidence']:.2f}")
  if document['band_plan']:
    print('band plan on: WLAN and Radar called only inside their allocations (--noband_plan: the network alone)')
  print(f"{document['frames']} frames in {document['seconds']} s; results in {_OUTPUT.value}")


if __name__ == '__main__':
  console.run(main)
