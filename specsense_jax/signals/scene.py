"""Scene composer: one 40 ms frame with NR, LTE or NR + LTE through channels and noise, with annotations.

Every random draw derives from the frame's seed through `numpy.random.SeedSequence`, so frame k of a split
is the same bytes on every machine and in every worker.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from specsense_jax.signals import channel
from specsense_jax.signals import counter_rng
from specsense_jax.signals import lte
from specsense_jax.signals import nr
from specsense_jax.signals import ofdm
from specsense_jax.signals import waveform as waveform_lib

SCENES = {'nr': ('NR',), 'lte': ('LTE',), 'nr_lte': ('NR', 'LTE')}
SNR_MODES = ('frame', 'per_signal')


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
    lte_load: LTE PDSCH load ('thinned' as in the example, 'full', 'sparse', 'off').
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
    if not self.nr_options() and any('NR' in SCENES[s] for s in self.scenes):
      raise ValueError(f'no (nr_bandwidths_mhz, nr_scs_khz) combination of {self.nr_bandwidths_mhz} x '
                       f'{self.nr_scs_khz} is defined by TS 38.104 and narrower than sample_rate {fs:g} Hz')
    for scene in self.scenes:
      if not self.pairs(scene):
        raise ValueError(f'scene {scene!r}: no combination of the configured bandwidths fits in sample_rate '
                         f'{fs / 1e6:g} MHz')
    return self

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


@dataclasses.dataclass
class Frame:
  """One composed frame.

  Attributes:
    iq: complex64 samples (channel and noise applied).
    sample_rate: samples per second.
    annotations: SigMF-shaped dicts: label, freq_lower_edge, freq_upper_edge (Hz, relative to the centre),
      sample_start, sample_count; plus `occupancy` ((K, 4) cells, see `Waveform.occupancy`; when the config
      asks for them), `snr_db` (per-signal mode), and for NR `ssb_offset_hz` (relative to the frame centre)
      and `ssb_starts`.
    snr_db: SNR of the frame: received signal power over noise power, full band.
    params: every drawn parameter.
  """
  iq: np.ndarray
  sample_rate: float
  annotations: list[dict[str, Any]]
  snr_db: float
  params: dict[str, Any]


@dataclasses.dataclass
class _Transmission:
  """One signal of a scene: its grid, channel, placement and scale."""
  source: waveform_lib.GridSource
  activity: np.ndarray  # (symbols, subcarriers) bool
  numerology: Any  # ofdm.Numerology at the frame rate, or None when the signal must be resampled
  fading: channel.Fading
  shift: int
  centre_hz: float
  gain: float = 1.0

  def received(self, sample_rate: float, num_samples: int, indices: np.ndarray | None) -> np.ndarray:
    """Faded, frequency-shifted, time-shifted and scaled samples at `indices` (all when None)."""
    if indices is None or self.numerology is None:
      iq, _, _ = waveform_lib.grid_to_samples(self.source.grid(), self.source.numerology_at, sample_rate,
                                              num_samples)
      out = channel.frequency_shift(self.fading.apply(iq), self.centre_hz, sample_rate)
      out = np.roll(out, self.shift)
      return (np.float32(self.gain) * out) if indices is None else np.float32(self.gain) * out[indices]
    m = (np.asarray(indices, np.int64) - self.shift) % num_samples  # index before the circular shift
    render = lambda idx: ofdm.render_at(self.source.rows, self.numerology, self.source.num_symbols,
                                        np.where(idx < num_samples, idx, -1))
    out = self.fading.apply_at(render, m) * channel.phasor(self.centre_hz, sample_rate, m)
    return np.float32(self.gain) * out

  def expected_power(self, sample_rate: float, num_samples: int) -> float:
    """Mean received power over the frame: per-symbol RE power (unit-power constellations) times the
    channel's mean power gain there.

    Exact for flat fading ('single_path', the default; measured within 0.02 dB). A frequency-selective channel
    ('tdl', 'etu') scales a band-limited signal by its response over that band, which this does not model: the
    realised power then differs by up to about 2 dB, and so does the SNR a frame records.
    """
    numerology, ratio = waveform_lib.synthesis_numerology(self.source.numerology_at, sample_rate,
                                                          self.source.num_subcarriers)
    scale = float(ratio)
    starts = numerology.symbol_starts(self.source.num_symbols) * scale
    lengths = (numerology.cp_of(self.source.num_symbols) + numerology.fft_size) * scale
    symbol_power = np.count_nonzero(self.activity, axis=1) / self.activity.shape[1]
    inside = np.clip(np.minimum(starts + lengths, num_samples) - starts, 0, None)
    centres = np.minimum(starts + lengths / 2, num_samples - 1).astype(np.int64)
    gain = self.fading.mean_power_gain(centres)
    return float(np.sum(symbol_power * gain * inside) / num_samples)


@dataclasses.dataclass
class ComposedFrame:
  """A drawn frame that can be rendered whole or at chosen samples, with identical values either way."""
  sample_rate: float
  num_samples: int
  annotations: list[dict[str, Any]]
  snr_db: float
  params: dict[str, Any]
  transmissions: list[_Transmission]
  noise_key: int
  noise_std: float

  def render(self, indices: np.ndarray | None = None) -> np.ndarray:
    """complex64 samples at `indices` (0 <= index < num_samples), or the whole frame when None."""
    if indices is not None:
      indices = np.asarray(indices, np.int64)
      if indices.size and (indices.min() < 0 or indices.max() >= self.num_samples):
        raise ValueError(f'indices must lie in [0, {self.num_samples}), got {indices.min()}..{indices.max()}')
    shape = (self.num_samples,) if indices is None else indices.shape
    total = np.zeros(shape, np.complex64)
    for t in self.transmissions:
      total += t.received(self.sample_rate, self.num_samples, indices)
    where = np.arange(self.num_samples) if indices is None else indices
    return total + np.float32(self.noise_std) * counter_rng.complex_normal(self.noise_key, where)

  def frame(self) -> Frame:
    return Frame(iq=self.render(), sample_rate=self.sample_rate, annotations=self.annotations,
                 snr_db=self.snr_db, params=self.params)


def _shift_cells(cells: np.ndarray, shift: int, offset_hz: float, num_samples: int) -> np.ndarray:
  """Moves occupancy cells by a circular time shift and a frequency offset, splitting wrapped cells."""
  if len(cells) == 0:
    return cells
  out = cells.copy()
  out[:, 0] = (out[:, 0] + shift) % num_samples
  out[:, 2:] += offset_hz
  over = out[:, 0] + out[:, 1] - num_samples
  wrapped = over > 0
  tail = out[wrapped].copy()
  out[wrapped, 1] -= over[wrapped]
  tail[:, 0] = 0
  tail[:, 1] = over[wrapped]
  return np.concatenate([out, tail])


def _place(rng: np.random.Generator, widths: list[float], config: SceneConfig) -> list[float]:
  """Centre frequencies: MATLAB's random offset for one signal; random gap and order for two."""
  fs = config.sample_rate
  if len(widths) == 1:
    max_shift = max(0.0, (fs - widths[0]) / 2 - fs / config.image_width)
    return [(2 * rng.random() - 1) * max_shift]
  step = config.gap_step_hz
  free = fs - sum(widths)
  gap = np.floor(rng.random() * free / step) * step
  start = -fs / 2 + np.floor(rng.random() * (free - gap) / step) * step
  centres, edge = [], start
  for w in widths:
    centres.append(edge + w / 2)
    edge += w + gap
  return centres


def _draw_signals(rng: np.random.Generator, config: SceneConfig) -> tuple[str, list[tuple[str, dict]]]:
  scene = config.scenes[int(rng.integers(len(config.scenes)))]
  choices = config.pairs(scene)
  nr_option, lte_bw = choices[int(rng.integers(len(choices)))]
  specs = []
  if nr_option:
    scs = nr_option[1]
    cases = config.nr_ssb_case_30khz
    specs.append(('NR', dict(bandwidth_mhz=nr_option[0], scs_khz=scs,
                             ssb_case='A' if scs == 15 else cases[int(rng.integers(len(cases)))],
                             ncellid=int(rng.integers(1008)),
                             modulation=config.nr_modulations[int(rng.integers(len(config.nr_modulations)))])))
  if lte_bw:
    specs.append(('LTE', dict(bandwidth_mhz=lte_bw, ncellid=int(rng.integers(504)), load=config.lte_load)))
  return scene, [specs[i] for i in rng.permutation(len(specs))]


def compose_frame(seed, config: SceneConfig | None = None) -> ComposedFrame:
  """Draws one frame: signals, placement, channels, SNR. Nothing is rendered yet.

  Args:
    seed: int, tuple of ints or numpy SeedSequence; the frame is a pure function of (seed, config).
    config: scene configuration; default `SceneConfig()`.
  """
  config = (config or SceneConfig()).validate()
  # spawn(5) leaves the first four children as spawn(4) made them: frames without short_frames are unchanged
  draw_seq, noise_seq, signal_seq0, signal_seq1, duration_seq = waveform_lib.seed_sequence(seed).spawn(5)
  signal_seqs = (signal_seq0, signal_seq1)
  rng = np.random.default_rng(draw_seq)
  fs = config.sample_rate
  duration_s = config.duration_s
  if config.short_frames:
    duration_rng = np.random.default_rng(duration_seq)
    if duration_rng.random() < config.short_frames:
      duration_s = float(np.exp(duration_rng.uniform(*np.log(config.short_duration_s))))
  num_samples = int(round(duration_s * fs))
  scene, specs = _draw_signals(rng, config)
  centres = _place(rng, [s[1]['bandwidth_mhz'] * 1e6 for s in specs], config)
  doppler = float(rng.uniform(*config.doppler_hz))
  model = config.channel_models[int(rng.integers(len(config.channel_models)))]
  model_kwargs = {}
  if model == 'tdl':
    model_kwargs = {'tdl_profile': config.tdl_profiles[int(rng.integers(len(config.tdl_profiles)))],
                    'delay_spread_s': float(np.exp(rng.uniform(*np.log(config.delay_spread_s))))}
  snrs = [float(rng.uniform(*config.snr_db)) for _ in specs]

  transmissions, annotations, signal_params = [], [], []
  for (label, kwargs), centre, snr, seq in zip(specs, centres, snrs, signal_seqs):
    wave_seq, channel_seq, shift_seq = seq.spawn(3)
    make_source = nr.nr_source if label == 'NR' else lte.lte_source
    source = make_source(**kwargs, seed=wave_seq, duration_s=duration_s)
    layout, ratio = waveform_lib.synthesis_numerology(source.numerology_at, fs, source.num_subcarriers)
    numerology = layout if ratio == 1 else None  # None: rendered whole, then resampled
    shift = int(np.random.default_rng(shift_seq).integers(num_samples)) if config.time_shift else 0
    fading = channel.make_fading(model, fs, num_samples, np.random.default_rng(channel_seq), doppler,
                                 **model_kwargs)
    t = _Transmission(source, source.activity(), numerology, fading, shift, centre)
    power = t.expected_power(fs, num_samples)
    t.gain = float(np.sqrt(10 ** (snr / 10) / power) if config.snr_mode == 'per_signal' else 1 / np.sqrt(power))
    transmissions.append(t)
    ann = {'label': label, 'freq_lower_edge': centre - source.bandwidth_hz / 2,
           'freq_upper_edge': centre + source.bandwidth_hz / 2, 'sample_start': 0, 'sample_count': num_samples}
    if config.occupancy_cells:
      cells = waveform_lib.occupancy_cells(t.activity, layout, ratio, num_samples)
      ann['occupancy'] = _shift_cells(cells, shift, centre, num_samples)
    if config.snr_mode == 'per_signal':
      ann['snr_db'] = snr
    if label == 'NR':
      starts = layout.symbol_starts(source.num_symbols)
      ssb = np.floor(starts[list(source.ssb_symbols)] * float(ratio)).astype(np.int64)
      ann['ssb_offset_hz'] = centre + source.ssb_offset_hz(layout)
      ann['ssb_starts'] = np.sort((ssb[ssb < num_samples] + shift) % num_samples)
    annotations.append(ann)
    signal_params.append(dict(source.params, center_frequency_hz=centre, time_shift_samples=shift))

  if config.snr_mode == 'frame':
    # The drawn SNR is the composed frame's (MATLAB adds noise relative to the summed signals): each transmission
    # is scaled to unit expected power, so the frame carries len(transmissions) of signal power. The second
    # signal's draw stays unused so the random stream, and every single-signal frame, is unchanged.
    frame_snr = snrs[0]
    noise_std = float(np.sqrt(len(transmissions) * 10 ** (-snrs[0] / 10)))
  else:
    frame_snr = float(10 * np.log10(sum(10 ** (s / 10) for s in snrs)))
    noise_std = 1.0
  params = {'scene': scene, 'signals': signal_params, 'channel_model': model, 'doppler_hz': doppler,
            'snr_db': frame_snr, **model_kwargs}
  if config.short_frames:
    params['duration_s'] = duration_s
  return ComposedFrame(fs, num_samples, annotations, frame_snr, params, transmissions,
                       counter_rng.key_from(noise_seq), noise_std)


def generate_frame(seed, config: SceneConfig | None = None) -> Frame:
  """Draws and renders one frame.

  Args:
    seed: int, tuple of ints or numpy SeedSequence; the frame is a pure function of (seed, config).
    config: scene configuration; default `SceneConfig()`.

  Returns:
    A `Frame`.
  """
  return compose_frame(seed, config).frame()
