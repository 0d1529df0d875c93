r"""Networks for real spectra: realistic frames (several carriers, interferers, fading, a drawn receiver and
inference's capture path; floor-scaled, four classes) with MathWorks-parity frames mixed in, and the grey levels
of either scaling redrawn (`augment.grey_rescale`).

  python -m launch.train --config=configs/realistic.py --workdir=runs/realistic
  python -m launch.train --config=configs/realistic.py:encoder=resnet18 --workdir=runs/realistic_dl_r18
  python -m launch.train --config=configs/realistic.py:wlan_radar --workdir=runs/realistic_six  # + WLAN, radar
  python -m launch.train --config=configs/realistic.py:wlan_radar,wide,short,radar_rich \
      --workdir=runs/six  # custom_realistic_128_wlan_radar
  python -m launch.train --config=configs/realistic.py:stem=1x2 --workdir=runs/realistic_1x2  # full time resolution
  python -m launch.train --config=configs/realistic.py:runlocal --workdir=/tmp/smoke   # tiny, CPU, minutes
  python -m launch.train --config=configs/realistic.py:encoder=resnet50,size=256 --workdir=runs/realistic_r50_256 \
      --config.half_precision=True --config.batch_size=64                          # the paper's model, on a GPU

The parity share keeps the network right on `synthetic_128` (min-max images, its own test split) while it learns
the realistic frames; without it a realistic-only network falls to 0.37 mean IoU there. `grey_rescale` lets one
network see both scalings' grey levels (the floor-scaled realistic frames sit at grey 64, the min-max parity
frames at 48-142): with it the sparse n78 capture goes from 0.000 to 1.000. The recipe is run r5 of the README's
"Networks for real spectra"; short=true (a quarter of the frames 1-20 ms) and minmax (one scaling everywhere)
are the ablations r3 and r4, large=true (realistic_128_large: four times the frames) the data-size run r8.
wlan_radar=true trains the same recipe on realistic_128_wlan_radar: six classes (Noise, NR, LTE, Unknown, WLAN,
Radar), its parity share still synthetic_128; with short=true on realistic_128_wlan_radar_short (a quarter of the
frames 1-20 ms, as the 1 ms NR captures are) and synthetic_128_short. load_balanced=true trains on
realistic_128_load_balanced (NR mostly loaded, LTE mostly idle: the realistic loads let density tell the standards
apart). wide=true trains on realistic_128_wide (a fifth of the NR frames a window onto a 70-100 MHz carrier wider
than the frame, as n78 100 MHz cells are seen at 61.44 Msps); wide,short on realistic_128_wide_short (half the frames
short, two fifths of the NR frames wide: 1 ms windows onto a wide carrier, as the n78 100 MHz capture is);
wlan_radar,wide,short on realistic_128_wlan_radar_wide_short (those scenes with WLAN and radar); radar_rich=true adds
30 % realistic_128_wlan_radar_rich to that (one to three emitters in every frame, seven in ten radars, labelled where
they show).
aspp=2/4/6 sets DeepLabv3+'s ASPP dilations (default 6/12/18; on the 8x8 map of a 128x128 image at output stride 16
the dilations 12 and 18 see only their centre tap); aspp_pooling=time pools ASPP's last branch over time only, per
frequency column, instead of over the whole image; time_context=true adds the decoder's time context (each
frequency column's mean over time, `heads.TimeContext`). stem=1x2 (time x frequency; default 2, 1 for full resolution)
sets the custom network's stem stride, and
--config.model_kwargs.subpixel=True its space-to-depth stem and depth-to-space classifier (`models/custom.py`).
"""

import ml_collections

from configs import common
from configs import default
from specsense_jax.models import custom
from specsense_jax.models import registry


def _stem_stride(stem: str) -> int | tuple[int, int]:
  strides = stem.split('x')
  if len(strides) not in (1, 2) or any(s not in ('1', '2') for s in strides):
    raise ValueError(f'configs/realistic.py: stem must be 1, 2 or TIMExFREQUENCY strides such as 1x2, got {stem!r}')
  return int(stem) if len(strides) == 1 else tuple(int(s) for s in strides)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, 'configs/realistic.py', encoder='', size=128, parity_share=0.3, short=False,
                           minmax=False, large=False, grey_rescale=True, wlan_radar=False, load_balanced=False,
                           wide=False, radar_rich=False, stem='2', aspp='', aspp_pooling='image',
                           time_context=False, runlocal=False)
  if args.encoder and args.encoder not in registry.ENCODERS:
    raise ValueError(f'configs/realistic.py: unknown encoder {args.encoder!r}; known: '
                     f'{", ".join(sorted(registry.ENCODERS))}')
  if not 0 <= args.parity_share < 1:
    raise ValueError(f'configs/realistic.py: parity_share must be in [0, 1), got {args.parity_share}')
  if args.minmax and args.short:
    raise ValueError('configs/realistic.py: minmax images exist for 40 ms frames only (realistic_128_minmax); '
                     'leave short=false with minmax')
  if args.large and (args.short or args.minmax or args.size != 128):
    raise ValueError('configs/realistic.py: large (realistic_128_large) is 40 ms floor-scaled 128x128 frames; leave '
                     'short and minmax false and size 128')
  if args.wlan_radar and (args.minmax or args.large or args.size != 128):
    raise ValueError('configs/realistic.py: wlan_radar (realistic_128_wlan_radar[_short]) is floor-scaled 128x128 '
                     'frames; leave minmax and large false and size 128')
  if args.load_balanced and (args.short or args.minmax or args.large or args.wlan_radar or args.size != 128):
    raise ValueError('configs/realistic.py: load_balanced (realistic_128_load_balanced) is 40 ms floor-scaled '
                     '128x128 four-class frames; leave short, minmax, large and wlan_radar false and size 128')
  if args.wide and (args.minmax or args.large or args.load_balanced or args.size != 128):
    raise ValueError('configs/realistic.py: wide (realistic_128_wide[_short], realistic_128_wlan_radar_wide_short) '
                     'is floor-scaled 128x128 frames; leave minmax, large and load_balanced false and size 128')
  if args.wide and args.wlan_radar and not args.short:
    raise ValueError('configs/realistic.py: wide six-class frames exist with short frames only '
                     '(realistic_128_wlan_radar_wide_short); set short with wide and wlan_radar')
  if args.radar_rich and not (args.wlan_radar and args.wide and args.short):
    raise ValueError('configs/realistic.py: radar_rich adds realistic_128_wlan_radar_rich (six classes, the wide and '
                     'short scenes) to realistic_128_wlan_radar_wide_short; set it with wlan_radar, wide and short')
  if args.encoder and args.stem != '2':
    raise ValueError('configs/realistic.py: stem applies to the custom network only; leave it out with encoder')
  if (args.aspp or args.aspp_pooling != 'image' or args.time_context) and not args.encoder:
    raise ValueError('configs/realistic.py: aspp, aspp_pooling and time_context set DeepLabv3+\'s head; give them '
                     'with encoder')
  rates = tuple(args.aspp.split('/')) if args.aspp else ()
  if not all(r.isdigit() and int(r) > 0 for r in rates):
    raise ValueError(f'configs/realistic.py: aspp must be positive dilations joined by /, such as 2/4/6, got '
                     f'{args.aspp!r}')
  if args.size not in (128, 256):
    raise ValueError(f'configs/realistic.py: size must be 128 or 256, got {args.size}')
  if args.size == 256 and (args.short or args.minmax):
    raise ValueError('configs/realistic.py: at size=256 only 40 ms floor-scaled frames exist (realistic_256); '
                     'leave short and minmax false')
  config = default.base_config()
  config.image_size = args.size
  suffix = '_short' if args.short else ''
  config.dataset = f'spectrum_sensing/realistic_{args.size}{suffix}{"_minmax" if args.minmax else ""}'
  if args.large:  # four times the frames for about the steps of 30 epochs of realistic_128 (4,800 against 4,500)
    config.dataset = 'spectrum_sensing/realistic_128_large'
    config.num_epochs = 8
  if args.load_balanced:  # NR mostly loaded, LTE mostly idle: density does not tell the standard
    config.dataset = 'spectrum_sensing/realistic_128_load_balanced'
  if args.wide:  # n78 carriers wider than the frame among the realistic scenes (with short: more of both)
    config.dataset = f'spectrum_sensing/realistic_128_wide{suffix}'
  if args.wlan_radar:  # six classes: the dataset's metadata names them, the model takes its count from it
    config.dataset = f'spectrum_sensing/realistic_128_wlan_radar{"_wide" if args.wide else ""}{suffix}'
  config.train_mix = (f'spectrum_sensing/synthetic_{args.size}{suffix}:{args.parity_share:g}'
                      if args.parity_share else '')
  if args.radar_rich:  # radar is 0.02 % of the six-class sets' pixels: more radars, labelled where they show
    config.train_mix = ','.join(filter(None, [config.train_mix, 'spectrum_sensing/realistic_128_wlan_radar_rich:0.3']))
  if args.grey_rescale:  # the parity (min-max) and realistic grey scalings seen from either side
    config.augment = ('grey_rescale',)
  if args.encoder:  # DeepLabv3+ over a registry encoder, at the learning rate of configs/deeplabv3plus.py
    config.model = f'deeplabv3plus_{args.encoder}'
    config.model_kwargs = ml_collections.ConfigDict({'output_stride': 16})
    if rates:  # at 128x128 and stride 16 the last map is 8x8: dilations 12 and 18 reach only padding
      config.model_kwargs.atrous_rates = tuple(int(r) for r in rates)
    if args.aspp_pooling != 'image':  # checked by the model registry
      config.model_kwargs.aspp_pooling = args.aspp_pooling
    if args.time_context:
      config.model_kwargs.decoder_time_context = True
    config.learning_rate = 0.02
  else:  # the default network's layout: a (time, frequency) stem stride, e.g. 1x2 for full time resolution
    # the model's own defaults for widths (channels per U-Net level) and subpixel, named so that flags can set them
    config.model_kwargs = ml_collections.ConfigDict({'stem_stride': _stem_stride(args.stem),
                                                     'widths': custom.SpectrumUNet.widths,
                                                     'subpixel': custom.SpectrumUNet.subpixel})
  if args.runlocal:
    default.runlocal(config)
    config.dataset = f'spectrum_sensing/realistic_tiny{"_wlan_radar" if args.wlan_radar else ""}'
    config.train_mix = 'spectrum_sensing/synthetic_tiny:0.3' if args.parity_share else ''
  config.lock()
  return config
