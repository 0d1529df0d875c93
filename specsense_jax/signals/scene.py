"""Scene composer: one 40 ms frame with NR, LTE or NR + LTE carriers (one or several of each, see
`scene_layout`), interferers (`scene_interferers`) and WLAN and radar (`scene_bursty`) through channels and
noise, with annotations.

Every random draw derives from the frame's seed through `numpy.random.SeedSequence`, so frame k of a split
is the same bytes on every machine and in every worker. Annotations list the interferers first, then the
carriers (a carrier's band label paints over an uplink inside it); every band and occupancy cell is clipped to
±sample_rate/2.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from specsense_jax import portable_math
from specsense_jax.signals import channel
from specsense_jax.signals import counter_rng
from specsense_jax.signals import lte
from specsense_jax.signals import nr
from specsense_jax.signals import ofdm
from specsense_jax.signals import scene_bursty
from specsense_jax.signals import scene_config
from specsense_jax.signals import scene_interferers
from specsense_jax.signals import scene_layout
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
  power: float = 0.0  # expected mean power over the frame before `gain` (`expected_power`)

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
    # cmul: numpy's complex product is neither the same bits on every CPU nor bitwise commutative
    out = portable_math.cmul(self.fading.apply_at(render, m), channel.phasor(self.centre_hz, sample_rate, m))
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
      symbol_power = np.sum(portable_math.abs2(self.source.grid()), axis=1) / self.activity.shape[1]
    else:  # unit-power constellations: the parity frames' bytes depend on this count
      symbol_power = np.count_nonzero(self.activity, axis=1) / self.activity.shape[1]
    inside = np.clip(np.minimum(starts + lengths, num_samples) - starts, 0, None)
    centres = np.minimum(starts + lengths / 2, num_samples - 1).astype(np.int64)
    gain = self.fading.mean_power_gain(centres)
    return float(np.sum(symbol_power * gain * inside) / num_samples)


def _band_gain(transmission, sample_rate: float, num_samples: int) -> float:
  """Realised over expected power gain of a multipath channel for a carrier: the taps' interference over the
  subcarriers the carrier uses, Σ_kl g_k g_l* R(d_l - d_k) with R(τ) = Σ_f w_f e^{j2πfτ} / Σ_f w_f (w_f: the
  carrier's active REs on subcarrier f over the frame), against Σ_k |g_k|², both at each symbol's centre weighted
  by its active REs (1 for one tap or no channel)."""
  fading = getattr(transmission, 'fading', None)
  if fading is None or len(fading.delays) < 2:
    return 1.0
  source, activity = transmission.source, transmission.activity
  per_subcarrier = np.count_nonzero(activity, axis=0).astype(np.float64)
  per_symbol = np.count_nonzero(activity, axis=1).astype(np.float64)
  if not per_subcarrier.any():
    return 1.0
  numerology, ratio = waveform_lib.synthesis_numerology(source.numerology_at, sample_rate, source.num_subcarriers)
  weights = per_subcarrier / per_subcarrier.sum()
  lags = fading.delays[None, :] - fading.delays[:, None]  # d_l - d_k, samples
  if ratio == 1:  # subcarrier f = k·fs/N: R at whole-sample lags is an inverse FFT of the weights
    spectrum = np.zeros(numerology.fft_size, np.complex128)
    spectrum[ofdm.subcarrier_bins(source.num_subcarriers, numerology)] = weights
    correlation = (np.fft.ifft(spectrum) * numerology.fft_size)[lags % numerology.fft_size]
  else:
    frequencies = ofdm.subcarrier_frequency(np.arange(source.num_subcarriers), source.num_subcarriers, numerology)
    unique, inverse = np.unique(lags, return_inverse=True)
    correlation = np.sum(portable_math.cis(2 * np.pi * unique[:, None] / sample_rate * frequencies) * weights,
                         axis=1)[inverse]  # a real factor, no BLAS: the same bits on any CPU
    correlation = correlation.reshape(lags.shape)
  starts = numerology.symbol_starts(source.num_symbols) * float(ratio)
  lengths = (numerology.cp_of(source.num_symbols) + numerology.fft_size) * float(ratio)
  centres = np.minimum(starts + lengths / 2, num_samples - 1).astype(np.int64)
  gains = np.stack([fading.gains(p, centres) for p in range(len(fading.delays))]).astype(np.complex128)
  expected = (np.einsum('ks,s->', portable_math.abs2(gains), per_symbol)
              + float(portable_math.abs2(fading.los_amplitude)) * per_symbol.sum())
  if fading.los_amplitude:  # the LoS ray arrives with the first tap (delay 0) and beats with it
    gains[np.argmin(fading.delays)] += portable_math.cmul(
        np.complex128(fading.los_amplitude), channel.phasor(fading.los_doppler_hz, sample_rate, centres))
  realised = np.einsum('ks,kl,ls,s->', gains, correlation, gains.conj(), per_symbol).real
  return float(realised / expected)


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

  def signal_power(self) -> float:
    """Expected mean power of all transmissions together (carriers, their ports and interferers, after their
    gains) over the frame, without the noise (whose power is noise_std**2).

    Transmissions are independent, so their powers add. A carrier's is its resource elements' expected power
    times its channel's mean power gain Σ|g_k|² (`_Transmission.expected_power`), exact for flat fading
    ('single_path', 'none': 0.02 dB rms from the measured power). Through a frequency-selective channel (TDL,
    EPA/EVA/ETU) the realised taps also beat with each other over the subcarriers the carrier uses (`_band_gain`,
    which takes each subcarrier's share of the frame's active REs as its power): measured on 12 realistic 10 ms
    frames each, 0.14 dB rms (0.4 dB at worst) through TDL, 0.21 dB rms (0.65 dB) through EPA/EVA/ETU, where
    Σ|g_k|² alone is 1.1 dB rms off (2.5 dB at worst). An interferer's power is measured on its low-rate samples.
    """
    return float(sum(t.gain * t.gain * t.power * _band_gain(t, self.sample_rate, self.num_samples)
                     for t in self.transmissions))

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


_shift_cells = scene_interferers.shift_cells


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
    specs.append(('NR', _nr_carrier(rng, config, nr_option[0], nr_option[1])))
  if lte_bw:
    specs.append(('LTE', dict(bandwidth_mhz=lte_bw, ncellid=int(rng.integers(504)))))
  return scene, [specs[i] for i in rng.permutation(len(specs))]


def _nr_carrier(rng: np.random.Generator, config: SceneConfig, bandwidth_mhz: float, scs_khz: int) -> dict:
  """An NR carrier's source arguments: its SS/PBCH case (A at 15 kHz, drawn at 30), cell ID and modulation,
  drawn in that order."""
  cases = config.nr_ssb_case_30khz
  return dict(bandwidth_mhz=bandwidth_mhz, scs_khz=scs_khz,
              ssb_case='A' if scs_khz == 15 else cases[int(rng.integers(len(cases)))],
              ncellid=int(rng.integers(1008)),
              modulation=config.nr_modulations[int(rng.integers(len(config.nr_modulations)))])


def _extra_carriers(rng: np.random.Generator, config: SceneConfig, specs: list[tuple[str, dict]]
                    ) -> list[tuple[str, dict, dict]]:
  """Carriers beyond the first of each standard (`nr_carriers`, `lte_carriers`): (label, source arguments, traffic
  options). Extra NR carriers keep the first one's SCS."""
  out = []
  for label, first in list(specs):
    for _ in range(int(scene_config.pick(rng, config.nr_carriers if label == 'NR' else config.lte_carriers)) - 1):
      if label == 'NR':
        widths = [bw for bw, s in config.nr_options() if s == first['scs_khz']]
        kwargs = _nr_carrier(rng, config, widths[int(rng.integers(len(widths)))], first['scs_khz'])
      else:
        widths = [float(b) for b in config.lte_bandwidths_mhz if b * 1e6 <= config.sample_rate]
        kwargs = dict(bandwidth_mhz=widths[int(rng.integers(len(widths)))], ncellid=int(rng.integers(504)))
      options = scene_config.draw_traffic(rng, config, label, kwargs)
      out.append((label, {**kwargs, **options}, options))
  return out


def _wide_carrier(rng: np.random.Generator, config: SceneConfig) -> tuple[str, dict]:
  """An NR carrier wider than the frame (`nr_wide_bandwidths_mhz`, 30 kHz): its source arguments."""
  widths = config.nr_wide_bandwidths_mhz
  return 'NR', _nr_carrier(rng, config, float(widths[int(rng.integers(len(widths)))]), 30)


def _window_to_frame(group: list[_Transmission], numerology, centre: float, sample_rate: float,
                     num_samples: int) -> None:
  """Makes a wide carrier's transmissions send only the subcarriers inside the frame, as a grid of their own
  (`scene_layout.frame_window`) at the frame rate, each at the level it has in the whole carrier."""
  first, count, window_centre = scene_layout.frame_window(group[0].source.num_subcarriers, numerology, centre,
                                                          sample_rate)
  for t in group:
    whole = t.source.num_subcarriers
    rows = scene_layout.WindowRows(t.source.rows, first, count)
    t.source = dataclasses.replace(
        t.source, rows=rows, num_subcarriers=count, port_rows=(), ssb_subcarrier=None,
        symbol_power=functools.partial(scene_layout.grid_symbol_power, rows, t.source.num_symbols, count))
    layout, ratio = waveform_lib.synthesis_numerology(t.source.numerology_at, sample_rate, count)
    t.numerology = layout if ratio == 1 else None
    t.activity, t.centre_hz, t.exact_power = t.activity[:, first:first + count], window_centre, True
    t.gain *= float(np.sqrt(count / whole))  # modulation scales a grid by 1/sqrt(its width): keep each RE's level
    t.power = t.expected_power(sample_rate, num_samples)


def _raster_hz(label: str, kwargs: dict) -> int:
  if label == 'LTE':
    return scene_layout.LTE_RASTER_HZ
  band = scene_config.NR_BANDS[(kwargs.get('duplex', 'fdd'), kwargs['scs_khz'])]
  return scene_layout.nr_raster_hz(band, kwargs['scs_khz'])


def _layout(rng: np.random.Generator, config: SceneConfig, specs: list, traffic: list):
  """Multi-carrier scenes: extra carriers, their placement and power offsets. Returns (specs, traffic, centres,
  original index of each carrier, power offsets in dB, index in `specs` of the carrier cut by the edge or None,
  layout params)."""
  n_first = len(specs)
  extra = _extra_carriers(rng, config, specs)
  specs = specs + [(label, kwargs) for label, kwargs, _ in extra]
  traffic = traffic + [options for _, _, options in extra]
  layout = scene_layout.place_carriers(
      rng, [label for label, _ in specs], [kwargs['bandwidth_mhz'] * 1e6 for _, kwargs in specs],
      [_raster_hz(label, kwargs) for label, kwargs in specs], config.sample_rate, config.contiguous_share,
      config.edge_cut_share, config.edge_cut_fraction, keep_first=n_first)
  kept = list(layout.kept)
  low, high = config.carrier_power_offset_db
  offsets = [float(rng.uniform(low, high)) for _ in kept] if high > 0 else [0.0] * len(kept)
  offsets[int(rng.integers(len(kept)))] = float(low)  # the strongest carrier
  cut = kept.index(layout.cut[0]) if layout.cut else None
  # neighbours of one standard by their index in the frame's signals: (label, lower, upper, adjacent)
  params = {'carriers_drawn': len(specs),
            'contiguous': [[label, kept.index(a), kept.index(b), adjacent]
                           for label, a, b, adjacent in layout.contiguous],
            'edge_cut': None if layout.cut is None else {'carrier': cut, 'edge': layout.cut[1],
                                                         'fraction_outside': layout.cut[2]}}
  return ([specs[i] for i in kept], [traffic[i] for i in kept], [layout.centres_hz[i] for i in kept], kept,
          offsets, cut, params)


def compose_frame(seed, config: SceneConfig | None = None) -> ComposedFrame:
  """Draws one frame: signals, placement, channels, SNR, interferers. Nothing is rendered yet.

  Args:
    seed: int, tuple of ints or numpy SeedSequence; the frame is a pure function of (seed, config).
    config: scene configuration; default `SceneConfig()`.
  """
  config = (config or SceneConfig()).validate()
  # spawn(10) leaves the first children as spawn(4..9) made them: frames without short frames, realistic traffic,
  # several carriers, interferers or wide carriers are unchanged
  (draw_seq, noise_seq, signal_seq0, signal_seq1, duration_seq, traffic_seq, layout_seq, interferer_seq,
   bursty_seq, wide_seq) = waveform_lib.seed_sequence(seed).spawn(10)
  rng = np.random.default_rng(draw_seq)
  fs = config.sample_rate
  duration_s = config.duration_s
  if config.short_frames:
    duration_rng = np.random.default_rng(duration_seq)
    if duration_rng.random() < config.short_frames:
      duration_s = portable_math.log_uniform(duration_rng, *config.short_duration_s)
  num_samples = int(round(duration_s * fs))
  scene, specs = _draw_signals(rng, config)
  wide_rng = np.random.default_rng(wide_seq)
  wide = bool(config.nr_wide_share and any(label == 'NR' for label, _ in specs)
              and wide_rng.random() < config.nr_wide_share)
  if wide:  # a window onto one NR carrier wider than the frame, instead of the drawn carriers
    specs = [_wide_carrier(wide_rng, config)]
  traffic_rng = np.random.default_rng(traffic_seq)
  traffic = [scene_config.draw_traffic(traffic_rng, config, label, kwargs) for label, kwargs in specs]
  specs = [(label, {**kwargs, **options}) for (label, kwargs), options in zip(specs, traffic)]
  multi = config.multi_carrier
  if wide:
    centres = [scene_layout.draw_wide_centre(wide_rng, specs[0][1]['bandwidth_mhz'] * 1e6, fs, _raster_hz(*specs[0]))]
    signal_seqs, offsets, cut = [signal_seq0], [0.0], 0
    layout_params = {'carriers_drawn': 1, 'contiguous': [], 'edge_cut': None, 'wide_carrier': True}
  elif multi:
    specs, traffic, centres, origin, offsets, cut, layout_params = _layout(
        np.random.default_rng(layout_seq), config, specs, traffic)
    extra_seqs = layout_seq.spawn(len(origin))
    signal_seqs = [(signal_seq0, signal_seq1)[i] if i < 2 else extra_seqs[k] for k, i in enumerate(origin)]
  else:
    centres = _place(rng, [s[1]['bandwidth_mhz'] * 1e6 for s in specs], config)
    signal_seqs, offsets, cut = (signal_seq0, signal_seq1), [0.0] * len(specs), None
  doppler = float(rng.uniform(*config.doppler_hz))
  model = config.channel_models[int(rng.integers(len(config.channel_models)))]
  model_kwargs = {}
  if model == 'tdl':
    model_kwargs = {'tdl_profile': config.tdl_profiles[int(rng.integers(len(config.tdl_profiles)))],
                    'delay_spread_s': portable_math.log_uniform(rng, *config.delay_spread_s)}
  snrs = [float(rng.uniform(*config.snr_db)) for _ in specs]

  def make_transmission(source, activity, numerology, shift, centre, seq, exact_power=True, flat=False):
    fading = (channel.make_fading('single_path', fs, num_samples, np.random.default_rng(seq), doppler) if flat else
              channel.make_fading(model, fs, num_samples, np.random.default_rng(seq), doppler, **model_kwargs))
    return _Transmission(source, activity, numerology, fading, shift, centre, exact_power=exact_power)

  transmissions, annotations, signal_params, carriers = [], [], [], []
  for k, ((label, kwargs), options, centre, snr, seq) in enumerate(zip(specs, traffic, centres, snrs, signal_seqs)):
    wave_seq, channel_seq, shift_seq = seq.spawn(3)
    make_source = nr.nr_source if label == 'NR' else lte.lte_source
    source = make_source(**kwargs, seed=wave_seq, duration_s=duration_s)
    layout, ratio = waveform_lib.synthesis_numerology(source.numerology_at, fs, source.num_subcarriers)
    numerology = layout if ratio == 1 else None  # None: rendered whole, then resampled
    shift = int(np.random.default_rng(shift_seq).integers(num_samples)) if config.time_shift else 0
    ports = [dataclasses.replace(source, rows=rows, port_rows=(), symbol_power=getattr(rows, 'symbol_power', None))
             for rows in source.port_rows] or [source]
    port_activity = [port.activity() for port in ports]
    activity = port_activity[0] if len(ports) == 1 else np.logical_or.reduce(port_activity)  # source.activity()
    port_seqs = [channel_seq] + channel_seq.spawn(len(ports) - 1) if len(ports) > 1 else [channel_seq]
    group = [make_transmission(port, port_active, numerology, shift, centre, port_seq,
                               scene_config.needs_exact_power(label, options))
             for port, port_active, port_seq in zip(ports, port_activity, port_seqs)]
    powers = [t.expected_power(fs, num_samples) for t in group]
    power = sum(powers)
    level = portable_math.db_to_power((snr if config.snr_mode == 'per_signal' else 0.0) - offsets[k])  # as scaled
    if multi:
      gain = float(np.sqrt(level / power)) if power > 0 else 0.0  # a carrier that sends nothing in a short frame
    else:
      gain = float(np.sqrt(portable_math.db_to_power(snr) / power) if config.snr_mode == 'per_signal'
                   else 1 / np.sqrt(power))
    for t, p in zip(group, powers):  # every port of a cell shares its scale: the cell, not each port, has unit power
      t.gain, t.power = gain, p
    carriers.append({'label': label, 'kwargs': kwargs, 'centre_hz': centre, 'bandwidth_hz': source.bandwidth_hz,
                     'shift': shift, 'index': k, 'psd': level / source.bandwidth_hz})
    if k == cut:  # nothing is sent outside the frame; the carrier keeps the level it would have whole
      keep = scene_layout.inside_frame(source.num_subcarriers, layout, centre, fs)
      activity = activity & keep
      if wide:  # the part in view as a grid of its own: the whole grid does not fit the frame rate
        _window_to_frame(group, layout, centre, fs, num_samples)
      else:
        for t in group:
          rows = scene_layout.EdgeCutRows(t.source.rows, keep)
          t.source = dataclasses.replace(t.source, rows=rows, port_rows=(), symbol_power=functools.partial(
              scene_layout.grid_symbol_power, rows, t.source.num_symbols, t.source.num_subcarriers))
          t.activity, t.exact_power = t.activity & keep, True
          t.power = t.expected_power(fs, num_samples)
    transmissions.extend(group)
    ann = {'label': label, 'freq_lower_edge': centre - source.bandwidth_hz / 2,
           'freq_upper_edge': centre + source.bandwidth_hz / 2, 'sample_start': 0, 'sample_count': num_samples}
    if config.occupancy_cells:
      cells = waveform_lib.occupancy_cells(activity, layout, ratio, num_samples)
      ann['occupancy'] = _shift_cells(cells, shift, centre, num_samples)
    if config.snr_mode == 'per_signal':
      ann['snr_db'] = snr - offsets[k]
    if label == 'NR':
      starts = layout.symbol_starts(source.num_symbols)
      ssb = np.floor(starts[list(source.ssb_symbols)] * float(ratio)).astype(np.int64)
      ann['ssb_offset_hz'] = centre + source.ssb_offset_hz(layout)
      ann['ssb_starts'] = np.sort((ssb[ssb < num_samples] + shift) % num_samples)
    annotations.append(ann)
    signal_params.append(dict(source.params, center_frequency_hz=centre, time_shift_samples=shift))
    if multi:
      signal_params[-1]['power_offset_db'] = offsets[k]

  if config.snr_mode == 'frame':
    # The drawn SNR is the composed frame's (MATLAB adds noise relative to the summed signals): each transmission
    # is scaled to unit expected power (all its ports together), so the frame carries len(specs) of signal power
    # (several carriers: the sum of their levels 10^(-offset/10)). The second signal's draw stays unused so the
    # random stream, and every single-signal frame, is unchanged.
    frame_snr = snrs[0]
    nominal = sum(portable_math.db_to_power(-o) for o in offsets) if multi else len(specs)
    noise_std = float(np.sqrt(nominal * portable_math.db_to_power(-snrs[0])))
  else:
    frame_snr = portable_math.power_to_db(sum(portable_math.db_to_power(s) for s in snrs))
    noise_std = 1.0
  if multi:  # the carriers' power as sent (a cut carrier sends less) over the noise
    sent = sum(t.gain * t.gain * t.power for t in transmissions)
    frame_snr = portable_math.power_to_db(max(sent, 1e-30) / (noise_std * noise_std))  # -300 dB: nothing sent at all
  params = {'scene': scene, 'signals': signal_params, 'channel_model': model, 'doppler_hz': doppler,
            'snr_db': frame_snr, **model_kwargs}
  if multi:
    params['layout'] = layout_params
  if config.has_interferers:
    found = scene_interferers.draw_interferers(interferer_seq, config, carriers, duration_s, num_samples,
                                               make_transmission)
    transmissions.extend(i.transmission for i in found)
    annotations = [i.annotation for i in found] + annotations
    params['interferers'] = [i.params for i in found]
  if config.has_bursty:  # after the carriers: a packet or pulse labels its pixels over a carrier's band
    emitters = scene_bursty.draw_bursty(bursty_seq, config, carriers, duration_s, num_samples)
    if config.bursty_visible_labels:
      scene_bursty.mark_visibility(emitters, noise_std * noise_std / fs, fs)
    transmissions.extend(e.transmission for e in emitters)
    annotations = annotations + [a for e in emitters for a in e.annotations]
    params['bursty'] = [e.params for e in emitters]
  annotations = [scene_layout.clip_annotation(a, fs) for a in annotations]
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
