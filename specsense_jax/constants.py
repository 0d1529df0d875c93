"""Constants every stage shares: the classes, the model's sample rate and frame length, the no-label value."""

from __future__ import annotations

from typing import Sequence

# Class ids are stable: a name keeps its id in every dataset, mask and model; new classes are appended.
CLASS_IDS = {'Noise': 0, 'NR': 1, 'LTE': 2, 'Unknown': 3, 'WLAN': 4, 'Radar': 5}
CLASS_NAMES = tuple(CLASS_IDS)
# Noise, NR, LTE, Unknown, WLAN, Radar (figures, mask panels)
CLASS_COLORS = ('#2b2b2b', '#1f9bde', '#f0a020', '#b040c0', '#3cb44b', '#e6194b')
STANDARDS = ('NR', 'LTE')  # the standards a frame classifier predicts: class ids 1 and 2, in that order

# Class sets of the datasets: a dataset's (and its models') classes are the first names of CLASS_NAMES.
MATHWORKS_CLASSES = ('Noise', 'NR', 'LTE')  # the MathWorks-parity datasets and every model trained before sets
FOUR_CLASSES = ('Noise', 'NR', 'LTE', 'Unknown')  # the realistic datasets: interferers labelled Unknown
# MathWorks' 2025 example's classes (Noise/NR/LTE/WLAN/Unknown), in our stable ids; and with pulsed radar.
FIVE_CLASSES = ('Noise', 'NR', 'LTE', 'Unknown', 'WLAN')
SIX_CLASSES = ('Noise', 'NR', 'LTE', 'Unknown', 'WLAN', 'Radar')
CLASS_SETS = {3: MATHWORKS_CLASSES, 4: FOUR_CLASSES, 5: FIVE_CLASSES, 6: SIX_CLASSES}
# Labels of signals that come and go within a frame (packets, pulses): in `matlab` spectrogram mode a row shows
# only the 256 samples it reads, so their annotations mark only the rows whose read window they overlap.
BURSTY_LABELS = ('WLAN', 'Radar')
# The `signals` flags every dataset has first (presence of NR, LTE, Unknown); sets with WLAN or Radar add theirs
# after (`data.examples.signal_labels`). Training reads only these, so sets of any class set mix.
SIGNAL_LABELS = ('NR', 'LTE', 'Unknown')

MODEL_RATE = 61.44e6  # samples per second of every frame a network sees (MathWorks' example rate)
FRAME_S = 0.04        # seconds of one frame (40 ms)

# Mask value of pixels with no label: band or time a recording has no data for (noise fill). Losses, metrics
# and class weights skip it; inference writes it where it has no prediction.
NO_LABEL = 255
# SigMF `core:label` of an annotation whose region's truth is unknown: its pixels get NO_LABEL whatever else lies
# there (for instance the part of a carrier's possible band that a short capture cannot show).
IGNORE_LABEL = 'Ignore'
# A WLAN packet's or radar pulse's power while on over the noise's spectral density (dB-Hz), where a dataset labels
# it only in the matlab-mode rows that show it (`SceneConfig.bursty_visible_labels`).
CN0_KEY = 'specsense:cn0_dbhz'
# A radar pulse's spectral spread where its labels follow it (`SceneConfig.bursty_visible_labels`): its centre and,
# at growing offsets from it, the most its energy spectral density over its energy reaches at or beyond the offset
# (dB re 1/Hz, smoothed over a matlab-mode read's resolution): a strong pulse's edges light bands far outside its
# main lobe, a weak one's only its peak.
SPREAD_KEY = 'specsense:spread'


def check_class_names(names: Sequence[str], what: str = 'class_names') -> tuple[str, ...]:
  """The class set `names` as a tuple, or a ValueError naming `what`.

  A class set lists names of CLASS_IDS in id order from 0 (the i-th name has id i), so a mask's pixel values
  are CLASS_IDS whatever the set, and one set's masks read the same in another.
  """
  if isinstance(names, str) or not names:
    raise ValueError(f'{what} must be a non-empty sequence of class names, got {names!r}')
  names = tuple(names)
  expected = CLASS_NAMES[:len(names)]
  if names != expected:
    raise ValueError(f'{what} must list class names in id order from 0 ({CLASS_IDS}), e.g. {expected}; '
                     f'got {names}')
  return names
