"""What a scene may contain (`SceneConfig`), the MathWorks-parity default and the `realistic()` preset, and the
per-carrier draws of duplexing, traffic, antenna ports and SSB placement.

The parity defaults draw nothing here, so frames made with them keep their bytes; the realistic options draw
from a seed child of their own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import numpy as np

from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import waveform as waveform_lib

SCENES = {'nr': ('NR',), 'lte': ('LTE',), 'nr_lte': ('NR', 'LTE')}
SNR_MODES = ('frame', 'per_signal')
# The band whose synchronization raster places the SSB of a carrier of (duplex, SCS) when nr_ssb_on_raster. No FDD
# band of `nr_raster.BANDS` with a 30 kHz SS raster is wide enough for 50 MHz carriers (n5 is 25 MHz): FDD carriers
# at 30 kHz take n78's raster, whose off-centre positions are of the same kind.
NR_BANDS = {('fdd', 15): 'n3', ('fdd', 30): 'n78', ('tdd', 15): 'n41', ('tdd', 30): 'n78'}
# Interferers a scene may hold, all labelled Unknown (see `scene_interferers`).
INTERFERER_KINDS = ('dvbt', 'cw', 'fm', 'bursts', 'uplink')
# Emitters labelled per packet or pulse (see `scene_bursty`): 'wlan' -> WLAN, 'radar' -> Radar.
BURSTY_KINDS = {'wlan': 'WLAN', 'radar': 'Radar'}
WLAN_FORMATS = ('non_ht', 'ht', 'vht', 'he_su')
WLAN_CHANNELS = ('none', 'B', 'C', 'D', 'E')
MAX_CARRIERS = 8  # per standard


def _weighted(choices) -> bool:
  """Whether `choices` is weighted ((value, weight), ...) choices rather than a single value."""
  return isinstance(choices, tuple) and bool(choices) and all(isinstance(c, tuple) and len(c) == 2 for c in choices)


def check_choices(name: str, choices, allowed: Iterable | None, check: Callable | None = None) -> None:
  """A single value or weighted ((value, weight), ...) choices; ValueError naming `name` otherwise."""
  pairs = choices if _weighted(choices) else ((choices, 1.0),)
  allowed = None if allowed is None else list(allowed)
  for value, weight in pairs:
    if allowed is not None and value not in allowed:
      raise ValueError(f'{name}: {value!r} is not allowed; allowed: {allowed}')
    if check is not None:
      try:
        check(value)
      except ValueError as e:
        raise ValueError(f'{name}: {e}') from None
    if not weight >= 0:
      raise ValueError(f'{name}: weight of {value!r} must be >= 0, got {weight!r}')
  if sum(w for _, w in pairs) <= 0:
    raise ValueError(f'{name}: the weights must not all be zero, got {choices!r}')


def pick(rng: np.random.Generator, choices) -> Any:
  """One value of a single value or of weighted ((value, weight), ...) choices."""
  if not _weighted(choices):
    return choices
  weights = np.array([w for _, w in choices], float)
  return choices[int(rng.choice(len(choices), p=weights / weights.sum()))][0]


@dataclasses.dataclass(frozen=True)
class SceneConfig:
  """What a frame may contain; defaults follow the MathWorks example (2023-24 version).

  Attributes:
    sample_rate: samples per second.
    duration_s: frame length.
    scenes: scene types drawn with equal probability: 'nr', 'lte', 'nr_lte'.
    nr_bandwidths_mhz: NR channel bandwidths to draw from.
    nr_scs_khz: NR subcarrier spacings to draw from (combinations TS 38.104 lacks are skipped).
    nr_ssb_case_30khz: SS/PBCH block cases drawn at 30 kHz ('B', 'C').
    nr_modulations: PDSCH modulations to draw from.
    lte_bandwidths_mhz: LTE channel bandwidths to draw from.
    lte_load: LTE load: a name of `lte.ALL_LOADS` ('thinned' as in the example) or weighted choices
      ((name, weight), ...).
    snr_db: AWGN SNR range, uniform.
    snr_mode: 'frame': noise relative to the combined signal (MATLAB); 'per_signal': each signal gets its
      own SNR draw relative to the noise floor.
    doppler_hz: maximum Doppler range, uniform.
    channel_models: fading models drawn from (see `channel.CHANNEL_MODELS`).
    tdl_profiles: TDL profiles drawn from when the model is 'tdl'.
    delay_spread_s: delay spread range for 'tdl', log-uniform.
    time_shift: random circular time shift U[0, duration) per signal.
    image_width: pixel columns of the images made later; single signals stay fs/width inside the edges.
    gap_step_hz: NR + LTE: gap and start are multiples of this.
    occupancy_cells: attach each signal's occupied time-frequency cells to its annotation.
    short_frames: probability that a frame lasts a log-uniform draw from `short_duration_s` instead of
      `duration_s`: imaged at the same size, it teaches a network what captures shorter than a frame look like.
    short_duration_s: (min, max) length of a short frame.
    nr_load: NR traffic: 'matlab' (the example's) or weighted choices of `nr.LOADS` names.
    nr_tdd_share: probability that an NR carrier is TDD, at 15 and at 30 kHz SCS.
    nr_tdd_patterns: weighted `nr_tdd` preset names of TDD carriers.
    nr_ssb_periods_ms: weighted SS/PBCH burst periods.
    nr_ssb_single_block: probability that a burst sends one block (as srsRAN does) instead of a random subset.
    nr_ssb_on_raster: put the SS/PBCH block on a GSCN of the carrier's band (TS 38.104 §5.4.3) instead of the
      carrier centre; the band follows duplex and SCS (`NR_BANDS`).
    lte_tdd_share: probability that an LTE carrier is TDD (frame structure type 2).
    lte_ul_dl_configs: weighted TDD uplink-downlink configurations (TS 36.211 Table 4.2-2).
    lte_special_subframe_configs: weighted special subframe configurations (Table 4.2-1).
    lte_ports: weighted CRS antenna port counts; each port reaches the receiver through its own fading.
    nr_carriers: weighted numbers of NR carriers in a scene holding NR ((count, weight), ...; 1..8). Extra
      carriers keep the first one's SCS and draw their bandwidth; fewer are drawn where they do not fit.
    lte_carriers: weighted numbers of LTE carriers in a scene holding LTE, likewise.
    contiguous_share: probability that two neighbouring carriers of one standard are adjacent at the nominal
      channel spacing (BW1 + BW2)/2 on the standard's raster (TS 36.104 §5.7.1, TS 38.104 §5.4.1) rather than
      a drawn gap apart (still on the raster); used only where a standard has several carriers.
    carrier_power_offset_db: (min, max) power of each carrier below the strongest one (dB, uniform); one
      carrier of the frame is the strongest at `min`.
    edge_cut_share: probability that the outermost carrier at a drawn frame edge is cut by it: placed so that
      a drawn fraction of its band lies outside ±sample_rate/2 (its subcarriers there are not sent and its
      annotation is clipped to the frame).
    edge_cut_fraction: (min, max) fraction of a cut carrier's band outside the frame, uniform.
    nr_wide_share: probability that a frame holding NR is instead a window onto one NR carrier wider than the
      frame (n77/n78 70-100 MHz at 30 kHz seen at 61.44 Msps): placed so that it covers at least half of the
      frame, one edge or none in view; only its subcarriers inside the frame are sent, at the level the whole
      carrier would have; no other carrier and no uplink interferer (`params['layout']['wide_carrier']`, no
      'edge_cut' recorded). Above zero it makes the scene multi-carrier (`multi_carrier`), so a config that was
      not lays out its other frames anew; `realistic()` already is.
    nr_wide_bandwidths_mhz: channel bandwidths such a wide carrier draws from (30 kHz, TS 38.104 Table 5.3.2-1).
    interferer_counts: weighted numbers of interferers in a frame ((count, weight), ...; 0..8).
    interferer_kinds: weighted interferer kinds of `INTERFERER_KINDS`: 'dvbt', 'cw', 'fm', 'bursts' (placed in
      spectrum no carrier occupies) and 'uplink' (SC-FDMA in the uplink symbols of a TDD carrier of the scene,
      in its band; drawn only where the scene has one). Each is labelled 'Unknown'.
    interferer_power_db: (min, max) power spectral density of an interferer over its band relative to the
      strongest carrier's over its nominal band (dB, uniform); see `scene_interferers` for each kind's band.
    bursty_counts: weighted numbers of WLAN channels and radars in a frame ((count, weight), ...; 0..8).
    bursty_kinds: weighted kinds of `BURSTY_KINDS` ('wlan', 'radar'), labelled per packet or pulse.
    bursty_power_db: (min, max) power spectral density of a WLAN channel or radar while on, relative to the
      strongest carrier's (dB, uniform).
    bursty_cochannel_share: probability that one lies over a carrier's band rather than in free spectrum.
    bursty_cochannel_fallback: whether one drawn for free spectrum that finds none lies over a carrier's band
      instead (True; in frames full of carriers that makes most of them co-channel) or is left out (False: the
      co-channel share stays near `bursty_cochannel_share`).
    bursty_visible_labels: label a packet or pulse only where a matlab-mode row shows it: in the rows whose read
      window holds enough of its energy to stand over the noise there (a radar's sidelobe pulses, 25-35 dB under
      its main-beam ones, mostly do not), and a chirp only over the band it sweeps in that window. False labels
      every row it overlaps over its whole band (the sets made before this option).
    wlan_formats: weighted 802.11 formats of `WLAN_FORMATS`.
    wlan_bandwidths_mhz: weighted channel widths (20, 40, 80; a width a format lacks or the sample rate cannot
      hold is skipped).
    wlan_channels: weighted TGn/TGax delay profiles ('B'..'E') or 'none'.
    wlan_traffic: `wlan.TRAFFIC_MODELS` name: 'bss' (TXOPs, Acks, beacons, a drawn duty cycle) or 'matlab'.
  """
  sample_rate: float = 61.44e6
  duration_s: float = 0.04
  scenes: tuple[str, ...] = ('nr', 'lte', 'nr_lte')
  nr_bandwidths_mhz: tuple[float, ...] = (10, 15, 20, 25, 30, 40, 50)
  nr_scs_khz: tuple[int, ...] = (15, 30)
  nr_ssb_case_30khz: tuple[str, ...] = ('B',)
  nr_modulations: tuple[str, ...] = ('qpsk',)
  lte_bandwidths_mhz: tuple[float, ...] = (5, 10, 15, 20)
  lte_load: str = 'thinned'
  snr_db: tuple[float, float] = (0.0, 40.0)
  snr_mode: str = 'frame'
  doppler_hz: tuple[float, float] = (0.0, 500.0)
  channel_models: tuple[str, ...] = ('single_path',)
  tdl_profiles: tuple[str, ...] = ('A', 'B', 'C', 'D', 'E')
  delay_spread_s: tuple[float, float] = (10e-9, 300e-9)
  time_shift: bool = True
  image_width: int = 128
  gap_step_hz: float = 1e6
  occupancy_cells: bool = True
  short_frames: float = 0.0
  short_duration_s: tuple[float, float] = (0.001, 0.02)
  nr_load: str | tuple = 'matlab'
  nr_tdd_share: tuple[float, float] = (0.0, 0.0)
  nr_tdd_patterns: tuple = (('DDDSU', 1.0),)
  nr_ssb_periods_ms: tuple = ((20, 1.0),)
  nr_ssb_single_block: float = 0.0
  nr_ssb_on_raster: bool = False
  lte_tdd_share: float = 0.0
  lte_ul_dl_configs: tuple = ((2, 1.0),)
  lte_special_subframe_configs: tuple = ((7, 1.0),)
  lte_ports: tuple = ((1, 1.0),)
  nr_carriers: tuple = ((1, 1.0),)
  lte_carriers: tuple = ((1, 1.0),)
  contiguous_share: float = 0.5
  carrier_power_offset_db: tuple[float, float] = (0.0, 0.0)
  edge_cut_share: float = 0.0
  edge_cut_fraction: tuple[float, float] = (0.1, 0.7)
  nr_wide_share: float = 0.0
  nr_wide_bandwidths_mhz: tuple[float, ...] = (70, 80, 90, 100)
  interferer_counts: tuple = ((0, 1.0),)
  interferer_kinds: tuple = (('dvbt', 1.0), ('cw', 1.0), ('fm', 1.0), ('bursts', 1.0), ('uplink', 1.0))
  interferer_power_db: tuple[float, float] = (-30.0, 0.0)
  bursty_counts: tuple = ((0, 1.0),)
  bursty_kinds: tuple = (('wlan', 1.0), ('radar', 1.0))
  bursty_power_db: tuple[float, float] = (-10.0, 10.0)
  bursty_cochannel_share: float = 0.3
  bursty_cochannel_fallback: bool = True
  bursty_visible_labels: bool = False
  wlan_formats: tuple = (('he_su', 0.4), ('vht', 0.25), ('ht', 0.2), ('non_ht', 0.15))
  wlan_bandwidths_mhz: tuple = ((20, 0.6), (40, 0.3), (80, 0.1))
  wlan_channels: tuple = (('B', 0.2), ('C', 0.3), ('D', 0.3), ('E', 0.2))
  wlan_traffic: str = 'bss'

  @classmethod
  def realistic(cls, **overrides) -> 'SceneConfig':
    """Cells drawn the way deployed networks look (`REALISTIC`): most NR TDD at 30 kHz, LTE FDD and TDD,
    2 or 4 CRS ports, loads from idle (a third of the cells) to full, SSB on the raster, 1-3 LTE and 1-2 NR carriers
    on their rasters with power offsets up to 30 dB, a carrier cut by the frame edge in a fifth of the frames,
    interferers (Unknown) in about half, and frequency-selective fading (TDL-A..E, EPA/EVA/ETU, some single
    path, Doppler up to 100 Hz) with one channel per carrier and port."""
    return cls(**{**REALISTIC, **overrides})

  def validate(self) -> 'SceneConfig':
    """Raises ValueError naming the first bad field; returns self."""
    fs = waveform_lib.check_positive('sample_rate', self.sample_rate)
    waveform_lib.check_positive('duration_s', self.duration_s)
    waveform_lib.check_positive('gap_step_hz', self.gap_step_hz)
    waveform_lib.check_range('snr_db', self.snr_db, -50, 200)
    waveform_lib.check_range('doppler_hz', self.doppler_hz, 0, 1e5)
    waveform_lib.check_range('delay_spread_s', self.delay_spread_s, 1e-10, 1e-4)
    if not 0 <= self.short_frames <= 1:
      raise ValueError(f'short_frames must be a probability in [0, 1], got {self.short_frames!r}')
    if self.short_frames:
      waveform_lib.check_range('short_duration_s', self.short_duration_s, 1e-5, self.duration_s)
    if self.delay_spread_s[0] <= 0:
      raise ValueError('delay_spread_s must be positive')
    for name, allowed in (('scenes', SCENES), ('channel_models', channel.CHANNEL_MODELS),
                          ('tdl_profiles', channel.TDL_PROFILES), ('nr_ssb_case_30khz', ('B', 'C'))):
      values = getattr(self, name)
      bad = [v for v in values if v not in allowed]
      if not values or bad:
        raise ValueError(f'{name} must be a non-empty subset of {sorted(allowed)}, got {values!r}')
    if self.snr_mode not in SNR_MODES:
      raise ValueError(f'snr_mode must be one of {SNR_MODES}, got {self.snr_mode!r}')
    if self.image_width < 1:
      raise ValueError(f'image_width must be a positive integer, got {self.image_width!r}')
    for bw in self.lte_bandwidths_mhz:
      lte.n_rb_for(bw)
    self._validate_traffic()
    self._validate_layout()
    if not self.nr_options() and any('NR' in SCENES[s] for s in self.scenes):
      raise ValueError(f'no (nr_bandwidths_mhz, nr_scs_khz) combination of {self.nr_bandwidths_mhz} x '
                       f'{self.nr_scs_khz} is defined by TS 38.104 and narrower than sample_rate {fs:g} Hz')
    for scene in self.scenes:
      if not self.pairs(scene):
        raise ValueError(f'scene {scene!r}: no combination of the configured bandwidths fits in sample_rate '
                         f'{fs / 1e6:g} MHz')
    return self

  def _validate_traffic(self) -> None:
    check_choices('lte_load', self.lte_load, lte.ALL_LOADS)
    check_choices('nr_load', self.nr_load, nr.LOADS)
    check_choices('nr_tdd_patterns', self.nr_tdd_patterns, None, check=lambda p: nr_tdd.preset(p, 30))
    check_choices('nr_ssb_periods_ms', self.nr_ssb_periods_ms, nr.SSB_PERIODS_MS)
    check_choices('lte_ul_dl_configs', self.lte_ul_dl_configs, range(7))
    check_choices('lte_special_subframe_configs', self.lte_special_subframe_configs, range(10))
    check_choices('lte_ports', self.lte_ports, (1, 2, 4))
    shares = (('nr_tdd_share', self.nr_tdd_share), ('lte_tdd_share', (self.lte_tdd_share,)),
              ('nr_ssb_single_block', (self.nr_ssb_single_block,)))
    for name, values in shares:
      if len(values) != (2 if name == 'nr_tdd_share' else 1) or not all(0 <= v <= 1 for v in values):
        raise ValueError(f'{name} must be probabilities in [0, 1]'
                         f'{" (at 15 kHz, at 30 kHz)" if name == "nr_tdd_share" else ""}, got {values!r}')

  def _validate_layout(self) -> None:
    def count_check(low):
      def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= MAX_CARRIERS:
          raise ValueError(f'counts must be whole numbers in [{low}, {MAX_CARRIERS}], got {value!r}')
      return check
    for name, low in (('nr_carriers', 1), ('lte_carriers', 1), ('interferer_counts', 0)):
      if not _weighted(getattr(self, name)):
        raise ValueError(f'{name} must be weighted choices ((count, weight), ...), got {getattr(self, name)!r}')
      check_choices(name, getattr(self, name), None, check=count_check(low))
    if not _weighted(self.interferer_kinds):
      raise ValueError(f'interferer_kinds must be weighted choices ((kind, weight), ...), got '
                       f'{self.interferer_kinds!r}')
    check_choices('interferer_kinds', self.interferer_kinds, INTERFERER_KINDS)
    for name in ('contiguous_share', 'edge_cut_share', 'nr_wide_share'):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f'{name} must be a probability in [0, 1], got {value!r}')
    waveform_lib.check_range('carrier_power_offset_db', self.carrier_power_offset_db, 0, 60)
    waveform_lib.check_range('edge_cut_fraction', self.edge_cut_fraction, 0.01, 0.95)
    if self.nr_wide_share:
      if not self.nr_wide_bandwidths_mhz:
        raise ValueError('nr_wide_bandwidths_mhz must name at least one bandwidth when nr_wide_share > 0')
      for bw in self.nr_wide_bandwidths_mhz:
        try:
          nr.n_rb_for(bw, 30)
        except ValueError as e:
          raise ValueError(f'nr_wide_bandwidths_mhz: {e}') from None
      if min(self.nr_wide_bandwidths_mhz) * 1e6 <= self.sample_rate:
        raise ValueError(f'nr_wide_bandwidths_mhz must be wider than sample_rate {self.sample_rate / 1e6:g} MHz, '
                         f'got {self.nr_wide_bandwidths_mhz!r}')
    waveform_lib.check_range('interferer_power_db', self.interferer_power_db, -80, 20)
    if not _weighted(self.bursty_counts):
      raise ValueError(f'bursty_counts must be weighted choices ((count, weight), ...), got {self.bursty_counts!r}')
    check_choices('bursty_counts', self.bursty_counts, None, check=count_check(0))
    for name, allowed in (('bursty_kinds', BURSTY_KINDS), ('wlan_formats', WLAN_FORMATS),
                          ('wlan_bandwidths_mhz', (20, 40, 80)), ('wlan_channels', WLAN_CHANNELS)):
      if not _weighted(getattr(self, name)):
        raise ValueError(f'{name} must be weighted choices ((value, weight), ...), got {getattr(self, name)!r}')
      check_choices(name, getattr(self, name), allowed)
    waveform_lib.check_range('bursty_power_db', self.bursty_power_db, -60, 30)
    if self.wlan_traffic not in ('bss', 'matlab'):
      raise ValueError(f"wlan_traffic must be one of ('bss', 'matlab'), got {self.wlan_traffic!r}")
    if not isinstance(self.bursty_cochannel_fallback, bool):
      raise ValueError(f'bursty_cochannel_fallback must be True or False, got {self.bursty_cochannel_fallback!r}')
    if not isinstance(self.bursty_visible_labels, bool):
      raise ValueError(f'bursty_visible_labels must be True or False, got {self.bursty_visible_labels!r}')
    if not 0 <= self.bursty_cochannel_share <= 1:
      raise ValueError(f'bursty_cochannel_share must be a probability in [0, 1], got '
                       f'{self.bursty_cochannel_share!r}')

  @property
  def multi_carrier(self) -> bool:
    """Whether the carriers are laid out by `scene_layout` (several per standard, power offsets, edge cuts or
    wide carriers) instead of the MathWorks placement; False for the parity defaults."""
    return (any(count != 1 for count, weight in self.nr_carriers + self.lte_carriers if weight > 0)
            or self.carrier_power_offset_db[1] > 0 or self.edge_cut_share > 0 or self.nr_wide_share > 0)

  @property
  def has_bursty(self) -> bool:
    """Whether a frame may hold WLAN or radar; False for the parity defaults."""
    return any(count > 0 and weight > 0 for count, weight in self.bursty_counts)

  @property
  def labels(self) -> tuple[str, ...]:
    """The annotation labels its frames can carry (a dataset's class set must hold them)."""
    out = ['NR', 'LTE'] + (['Unknown'] if self.has_interferers else [])
    if self.has_bursty:
      out += [BURSTY_KINDS[kind] for kind, weight in self.bursty_kinds if weight > 0]
    return tuple(out)

  @property
  def has_interferers(self) -> bool:
    """Whether a frame may hold interferers; False for the parity defaults."""
    return any(count > 0 and weight > 0 for count, weight in self.interferer_counts)

  def nr_options(self) -> list[tuple[float, int]]:
    """(bandwidth, SCS) pairs TS 38.104 defines whose occupied band fits the sample rate."""
    out = []
    for scs in self.nr_scs_khz:
      for bw in self.nr_bandwidths_mhz:
        try:
          n_rb = nr.n_rb_for(bw, scs)
        except ValueError:
          continue
        if n_rb * 12 * scs * 1e3 <= self.sample_rate and bw * 1e6 <= self.sample_rate:
          out.append((float(bw), int(scs)))
    return out

  def pairs(self, scene: str) -> list[tuple]:
    """The signal parameter tuples a scene can draw: [(nr option or None, lte bandwidth or None)]."""
    nr_opts = self.nr_options() if 'NR' in SCENES[scene] else [None]
    lte_opts = [float(b) for b in self.lte_bandwidths_mhz if b * 1e6 <= self.sample_rate] \
        if 'LTE' in SCENES[scene] else [None]
    return [(n, l) for n in nr_opts for l in lte_opts
            if (n[0] if n else 0) * 1e6 + (l or 0) * 1e6 <= self.sample_rate]


# Deployed networks, as the captures in ../shared/realdata and operators' public configurations show them: NR at
# 30 kHz mostly TDD (DDDSU and its 5 ms relatives), NR at 15 kHz mostly FDD; TD-LTE mostly configurations 1 and 2
# with special subframes 5 or 7 (the band-39 capture: 2 and 5); 2 CRS ports most common; a third of the cells idle.
REALISTIC = dict(
    nr_ssb_case_30khz=('B', 'C'),
    nr_modulations=('qpsk', '16qam', '64qam', '256qam'),
    lte_load=(('idle', 0.3), ('light', 0.25), ('medium', 0.2), ('heavy', 0.15), ('full', 0.05), ('thinned', 0.05)),
    nr_load=(('idle', 0.3), ('light', 0.25), ('medium', 0.2), ('heavy', 0.15), ('full', 0.05), ('matlab', 0.05)),
    nr_tdd_share=(0.15, 0.9),
    nr_tdd_patterns=(('DDDSU', 0.35), ('DDDSU_6_4_4', 0.1), ('DDDDDDDSUU', 0.25), ('DDDSUDDSUU', 0.25),
                     ('DSUUU', 0.05)),
    nr_ssb_periods_ms=((20, 0.7), (10, 0.1), (5, 0.05), (40, 0.05), (80, 0.05), (160, 0.05)),
    nr_ssb_single_block=0.4,
    nr_ssb_on_raster=True,
    lte_tdd_share=0.4,
    lte_ul_dl_configs=((1, 0.35), (2, 0.5), (0, 0.03), (3, 0.03), (4, 0.03), (5, 0.03), (6, 0.03)),
    lte_special_subframe_configs=((7, 0.45), (5, 0.2), (6, 0.15), (8, 0.1), (4, 0.05), (9, 0.05)),
    lte_ports=((1, 0.15), (2, 0.6), (4, 0.25)),
    # Several carriers per standard (EU band 20: 10 MHz LTE carriers side by side), one carrier cut by the capture
    # edge now and then, interferers in about half of the frames (DVB-T, PMR, FM, spurs, phones in TDD uplink).
    nr_carriers=((1, 0.7), (2, 0.3)),
    lte_carriers=((1, 0.45), (2, 0.4), (3, 0.15)),
    contiguous_share=0.5,
    carrier_power_offset_db=(0.0, 30.0),
    edge_cut_share=0.2,
    edge_cut_fraction=(0.1, 0.7),
    interferer_counts=((0, 0.5), (1, 0.3), (2, 0.15), (3, 0.05)),
    interferer_kinds=(('dvbt', 0.2), ('cw', 0.25), ('fm', 0.15), ('bursts', 0.2), ('uplink', 0.2)),
    interferer_power_db=(-30.0, 0.0),
    # frequency-selective fading by default: TDL-A..E (2/7), EPA/EVA/ETU (3/7), single path (2/7, also the cheapest)
    channel_models=('single_path', 'single_path', 'tdl', 'tdl', 'epa', 'eva', 'etu'),
    # a sensor and a base station that stand still: Doppler comes from moving scatterers and vehicles near the
    # sensor, rarely more than ~100 Hz (36 km/h at 3 GHz), where MATLAB's 0-500 Hz draws a high-speed train
    doppler_hz=(0.0, 100.0),
)

# WLAN and radar beside the realistic cells: one or two emitters in most frames, a third of them over a carrier.
REALISTIC_BURSTY = dict(bursty_counts=((0, 0.3), (1, 0.45), (2, 0.25)), bursty_cochannel_share=0.35)


def _realistic_wlan(**overrides) -> SceneConfig:
  """`realistic()` with WLAN channels (five classes: Noise, NR, LTE, Unknown, WLAN)."""
  return SceneConfig.realistic(**{**REALISTIC_BURSTY, 'bursty_kinds': (('wlan', 1.0),), **overrides})


def _realistic_bursty(**overrides) -> SceneConfig:
  """`realistic()` with WLAN channels and radars (six classes)."""
  return SceneConfig.realistic(**{**REALISTIC_BURSTY, 'bursty_kinds': (('wlan', 0.6), ('radar', 0.4)),
                                  **overrides})


def _matlab_wlan(**overrides) -> SceneConfig:
  """The MathWorks 2025 example's mix (its `helperSpecSenseWLANSignal`): its NR/LTE frames with an HE SU WLAN
  channel of 20 or 40 MHz beside them (MCS 0-11, TGax model D, packets after idle gaps of 0.1-1.0 ms), labelled
  in the rows where a packet is."""
  return SceneConfig(**{'bursty_counts': ((0, 0.25), (1, 0.75)), 'bursty_kinds': (('wlan', 1.0),),
                        'wlan_formats': (('he_su', 1.0),), 'wlan_bandwidths_mhz': ((20, 0.5), (40, 0.5)),
                        'wlan_channels': (('D', 1.0),), 'wlan_traffic': 'matlab', 'bursty_cochannel_share': 0.0,
                        'bursty_power_db': (-10.0, 0.0), **overrides})


# Scene presets by name (what a dataset's config names): keyword overrides -> SceneConfig.
SCENE_PRESETS: dict[str, Callable[..., SceneConfig]] = {
    'matlab': SceneConfig, 'realistic': SceneConfig.realistic, 'matlab_wlan': _matlab_wlan,
    'realistic_wlan': _realistic_wlan, 'realistic_bursty': _realistic_bursty}

_MATHWORKS_LTE_LOADS = ('thinned', 'full', 'sparse', 'off')


def needs_exact_power(label: str, options: dict[str, Any]) -> bool:
  """Whether a carrier's resource elements may differ from unit power (boosted CRS, several ports, NR power
  offsets), so that its expected power must be measured on its grid rather than counted from its activity."""
  if label == 'LTE':
    return options.get('load', 'thinned') not in _MATHWORKS_LTE_LOADS or options.get('num_ports', 1) != 1
  return options.get('load', 'matlab') != 'matlab'


def draw_traffic(rng: np.random.Generator, config: SceneConfig, label: str, kwargs: dict[str, Any]) -> dict[str, Any]:
  """Source options of one carrier beyond the parity draws: duplex, TDD configuration, ports, load, SSB.

  Args:
    rng: the frame's traffic generator (its own seed child).
    config: the scene configuration.
    label: 'NR' or 'LTE'.
    kwargs: the carrier's parity options (bandwidth, SCS, ...), not modified.

  Returns:
    Options to add to the source's arguments; empty for the parity configuration.
  """
  out: dict[str, Any] = {}
  if label == 'LTE':
    out['load'] = pick(rng, config.lte_load)
    if config.lte_tdd_share and rng.random() < config.lte_tdd_share:
      out.update(duplex='tdd', ul_dl_config=int(pick(rng, config.lte_ul_dl_configs)),
                 special_subframe_config=int(pick(rng, config.lte_special_subframe_configs)))
    ports = int(pick(rng, config.lte_ports))
    if ports != 1:
      out['num_ports'] = ports
    return out
  scs = kwargs['scs_khz']
  load = pick(rng, config.nr_load)
  if load != 'matlab':
    out['load'] = load
  duplex = 'tdd' if rng.random() < config.nr_tdd_share[scs == 30] else 'fdd'
  if duplex == 'tdd':
    out.update(duplex='tdd', tdd_pattern=pick(rng, config.nr_tdd_patterns))
  period = float(pick(rng, config.nr_ssb_periods_ms))
  if period != 20:
    out['ssb_period_ms'] = period
  if config.nr_ssb_single_block and rng.random() < config.nr_ssb_single_block:
    out['ssb_bitmap'] = 'single'
  if config.nr_ssb_on_raster:
    band = NR_BANDS[(duplex, scs)]
    n_rb = nr.n_rb_for(kwargs['bandwidth_mhz'], scs)
    centre = nr_raster.draw_carrier(rng, band, kwargs['bandwidth_mhz'], scs)
    placements = nr_raster.ssb_placements(centre, n_rb, scs, band)
    placement = placements[int(rng.integers(len(placements)))]  # draw_carrier only returns carriers holding one
    out.update(ssb_first_subcarrier=int(placement.first_subcarrier), ssb_case=placement.case)
  return out
