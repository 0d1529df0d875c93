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
from specsense_jax.signals import scene_config
from specsense_jax.signals import waveform as waveform_lib

SceneConfig = scene_config.SceneConfig
SCENES = scene_config.SCENES
SNR_MODES = scene_config.SNR_MODES


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
  exact_power: bool = False  # measure RE power from the grid (boosted, multi-port or offset channels)

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
    if self.exact_power and self.source.symbol_power is not None:  # from the generator's tables: no grid built
      symbol_power = np.asarray(self.source.symbol_power(), np.float64)
    elif self.exact_power:
      symbol_power = np.sum(np.abs(self.source.grid()) ** 2, axis=1) / self.activity.shape[1]
    else:  # unit-power constellations: the parity frames' bytes depend on this count
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
    specs.append(('LTE', dict(bandwidth_mhz=lte_bw, ncellid=int(rng.integers(504)))))
  return scene, [specs[i] for i in rng.permutation(len(specs))]


def compose_frame(seed, config: SceneConfig | None = None) -> ComposedFrame:
  """Draws one frame: signals, placement, channels, SNR. Nothing is rendered yet.

  Args:
    seed: int, tuple of ints or numpy SeedSequence; the frame is a pure function of (seed, config).
    config: scene configuration; default `SceneConfig()`.
  """
  config = (config or SceneConfig()).validate()
  # spawn(6) leaves the first children as spawn(4) and spawn(5) made them: frames without short frames or
  # realistic traffic are unchanged
  draw_seq, noise_seq, signal_seq0, signal_seq1, duration_seq, traffic_seq = waveform_lib.seed_sequence(
      seed).spawn(6)
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
  traffic_rng = np.random.default_rng(traffic_seq)
  traffic = [scene_config.draw_traffic(traffic_rng, config, label, kwargs) for label, kwargs in specs]
  specs = [(label, {**kwargs, **options}) for (label, kwargs), options in zip(specs, traffic)]
  centres = _place(rng, [s[1]['bandwidth_mhz'] * 1e6 for s in specs], config)
  doppler = float(rng.uniform(*config.doppler_hz))
  model = config.channel_models[int(rng.integers(len(config.channel_models)))]
  model_kwargs = {}
  if model == 'tdl':
    model_kwargs = {'tdl_profile': config.tdl_profiles[int(rng.integers(len(config.tdl_profiles)))],
                    'delay_spread_s': float(np.exp(rng.uniform(*np.log(config.delay_spread_s))))}
  snrs = [float(rng.uniform(*config.snr_db)) for _ in specs]

  transmissions, annotations, signal_params = [], [], []
  for (label, kwargs), options, centre, snr, seq in zip(specs, traffic, centres, snrs, signal_seqs):
    wave_seq, channel_seq, shift_seq = seq.spawn(3)
    make_source = nr.nr_source if label == 'NR' else lte.lte_source
    source = make_source(**kwargs, seed=wave_seq, duration_s=duration_s)
    layout, ratio = waveform_lib.synthesis_numerology(source.numerology_at, fs, source.num_subcarriers)
    numerology = layout if ratio == 1 else None  # None: rendered whole, then resampled
    shift = int(np.random.default_rng(shift_seq).integers(num_samples)) if config.time_shift else 0
    activity = source.activity()
    ports = [dataclasses.replace(source, rows=rows, port_rows=(), symbol_power=getattr(rows, 'symbol_power', None))
             for rows in source.port_rows] or [source]
    port_seqs = [channel_seq] + channel_seq.spawn(len(ports) - 1) if len(ports) > 1 else [channel_seq]
    group = [_Transmission(port, activity if len(ports) == 1 else port.activity(), numerology,
                           channel.make_fading(model, fs, num_samples, np.random.default_rng(port_seq), doppler,
                                               **model_kwargs), shift, centre,
                           exact_power=scene_config.needs_exact_power(label, options))
             for port, port_seq in zip(ports, port_seqs)]
    power = sum(t.expected_power(fs, num_samples) for t in group)
    gain = float(np.sqrt(10 ** (snr / 10) / power) if config.snr_mode == 'per_signal' else 1 / np.sqrt(power))
    for t in group:  # every port of a cell shares its scale: the cell, not each port, has unit power
      t.gain = gain
    transmissions.extend(group)
    ann = {'label': label, 'freq_lower_edge': centre - source.bandwidth_hz / 2,
           'freq_upper_edge': centre + source.bandwidth_hz / 2, 'sample_start': 0, 'sample_count': num_samples}
    if config.occupancy_cells:
      cells = waveform_lib.occupancy_cells(activity, layout, ratio, num_samples)
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
    # is scaled to unit expected power (all its ports together), so the frame carries len(specs) of signal power. The second
    # signal's draw stays unused so the random stream, and every single-signal frame, is unchanged.
    frame_snr = snrs[0]
    noise_std = float(np.sqrt(len(specs) * 10 ** (-snrs[0] / 10)))
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
