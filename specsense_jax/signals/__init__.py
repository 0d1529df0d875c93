"""Standards-faithful NR and LTE downlink, 802.11 WLAN and pulsed radar synthesis, channels and 40 ms scenes
(numpy/scipy)."""

from specsense_jax.signals.channel import add_awgn, apply_channel, CHANNEL_MODELS, frequency_shift
from specsense_jax.signals.lte import lte_waveform
from specsense_jax.signals.nr import nr_waveform
from specsense_jax.signals.radar import radar_waveform
from specsense_jax.signals.scene import Frame, generate_frame, SceneConfig
from specsense_jax.signals.waveform import Waveform
from specsense_jax.signals.wlan import wlan_waveform
