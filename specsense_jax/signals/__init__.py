"""Standards-faithful NR and LTE downlink synthesis, channels and 40 ms scenes (numpy/scipy)."""

from specsense_jax.signals.channel import add_awgn, apply_channel, CHANNEL_MODELS, frequency_shift
from specsense_jax.signals.lte import lte_waveform
from specsense_jax.signals.nr import nr_waveform
from specsense_jax.signals.scene import Frame, generate_frame, SceneConfig
from specsense_jax.signals.waveform import Waveform
