"""The synthesis gallery: one figure per kind of cell the generators make (duplexing, load, ports, SSB placement),
each as MATLAB-mode and average-mode spectrograms beside its occupancy mask, and real captures beside the cells
configured like them.

  python -m launch.gallery --output=docs/figures --captures_dir=../shared/realdata/captures
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Callable

import numpy as np

from specsense_jax import capture
from specsense_jax import frames
from specsense_jax import plotting
from specsense_jax import spectrogram
from specsense_jax import synthetic
from specsense_jax.constants import FRAME_S
from specsense_jax.constants import MODEL_RATE
from specsense_jax.io import catalog
from specsense_jax.io import recordings
from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import nr
from specsense_jax.signals import nr_raster
from specsense_jax.signals import radar
from specsense_jax.signals import scene
from specsense_jax.signals import scene_config
from specsense_jax.signals import waveform as waveform_lib
from specsense_jax.signals import wlan
from specsense_jax.signals import wlan_ppdu

SNR_DB = 20.0
IMAGE_SIZE = (256, 256)
DPI = 72  # small PNGs: the README shows eight of them


@dataclasses.dataclass(frozen=True)
class Case:
  """One gallery figure: a titled waveform maker, and optionally the real capture it is configured like."""
  title: str
  make: Callable[[], waveform_lib.Waveform]
  capture: str | None = None  # raw file in the captures folder (catalogued in `io.catalog`)
  capture_rate: float | None = None
  capture_dtype: str = 'ci8'


def _n78_ssb(bandwidth_mhz: float, scs_khz: int = 30, band: str = 'n78') -> dict:
  """An SSB placement on the band's raster, near the lower third of a carrier (as in the n78 40 MHz capture)."""
  n_rb = nr.n_rb_for(bandwidth_mhz, scs_khz)
  centre = nr_raster.draw_carrier(np.random.default_rng(0), band, bandwidth_mhz, scs_khz)
  placements = nr_raster.ssb_placements(centre, n_rb, scs_khz, band)
  p = placements[len(placements) // 4]
  return dict(ssb_first_subcarrier=p.first_subcarrier, ssb_case=p.case)


CASES = {
    'lte_tdd_idle_2ports': Case(
        'LTE TDD 20 MHz, UL/DL configuration 2, special subframe 5, 2 ports, idle (configured like the band-39 '
        'capture, shown beside it)',
        lambda: lte.lte_waveform(20, ncellid=101, seed=1, sample_rate=19.2e6, duplex='tdd', ul_dl_config=2,
                                 special_subframe_config=5, num_ports=2, load='idle'),
        capture='lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', capture_rate=19.2e6),
    'lte_fdd_4ports_medium': Case(
        'LTE FDD 10 MHz, 4 ports, medium load',
        lambda: lte.lte_waveform(10, ncellid=7, seed=2, sample_rate=15.36e6, num_ports=4, load='medium')),
    'lte_tdd_heavy': Case(
        'LTE TDD 20 MHz, UL/DL configuration 1, special subframe 7, 2 ports, heavy load',
        lambda: lte.lte_waveform(20, ncellid=3, seed=3, sample_rate=30.72e6, duplex='tdd', ul_dl_config=1,
                                 special_subframe_config=7, num_ports=2, load='heavy')),
    'nr_tdd_idle': Case(
        'NR TDD 40 MHz at 30 kHz, DDDSU, idle: SSB on the n78 raster, CORESET0 + SIB1, TRS',
        lambda: nr.nr_waveform(40, 30, ncellid=1, seed=4, sample_rate=61.44e6, duplex='tdd', tdd_pattern='DDDSU',
                               load='idle', **_n78_ssb(40))),
    'nr_fdd_idle_15khz': Case(
        'NR FDD 20 MHz at 15 kHz, idle, one SSB every 20 ms (like the n3 cell of the captures)',
        lambda: nr.nr_waveform(20, 15, ncellid=1, seed=5, sample_rate=30.72e6, load='idle', ssb_bitmap='single',
                               **_n78_ssb(20, 15, 'n3'))),
    'nr_tdd_light': Case(
        'NR TDD 50 MHz at 30 kHz, DDDDDDDSUU, light load',
        lambda: nr.nr_waveform(50, 30, ncellid=2, seed=6, sample_rate=61.44e6, duplex='tdd',
                               tdd_pattern='DDDDDDDSUU', load='light', **_n78_ssb(50))),
    'nr_tdd_heavy': Case(
        'NR TDD 50 MHz at 30 kHz, DDDSUDDSUU, heavy load',
        lambda: nr.nr_waveform(50, 30, ncellid=3, seed=7, sample_rate=61.44e6, duplex='tdd',
                               tdd_pattern='DDDSUDDSUU', load='heavy', **_n78_ssb(50))),
    'nr_fdd_full': Case(
        'NR FDD 20 MHz at 15 kHz, full load (every downlink RE)',
        lambda: nr.nr_waveform(20, 15, ncellid=4, seed=8, sample_rate=30.72e6, load='full')),
    'wlan_he_su_20': Case(
        'WLAN 802.11ax HE SU 20 MHz, TGax D, 40 % duty: TXOPs with Acks; labels per PPDU',
        lambda: wlan.wlan_waveform(20, fmt='he_su', seed=9, duty=0.4, channel='D', sample_rate=30.72e6)),
    'wlan_vht_40': Case(
        'WLAN 802.11ac VHT 40 MHz, TGn C, 70 % duty (Acks as non-HT duplicates)',
        lambda: wlan.wlan_waveform(40, fmt='vht', seed=10, duty=0.7, channel='C')),
    'radar_lfm': Case(
        'Radar: LFM pulses (10-100 µs, 0.5-10 MHz sweep), scanning beam',
        lambda: radar.radar_waveform(seed=11, kind='lfm', sample_rate=30.72e6, pri_s=1e-3)),
    'radar_barker': Case(
        'Radar: Barker-13 pulses, staggered PRI, scanning beam',
        lambda: radar.radar_waveform(seed=12, kind='barker', sample_rate=30.72e6)),
}


def _received(wave: waveform_lib.Waveform, seed: int) -> np.ndarray:
  """The clean waveform plus white noise SNR_DB below its mean power."""
  rng = np.random.default_rng(seed)
  return channel.add_awgn(wave.iq, SNR_DB, rng)


def _panels(iq: np.ndarray, sample_rate: float, prefix: str) -> dict[str, np.ndarray]:
  return {f'{prefix}{mode} mode': spectrogram.spectrogram_image(iq, sample_rate, IMAGE_SIZE, mode)
          for mode in ('matlab', 'average')}


def render_case(name: str, output_dir: str, captures_dir: str | None = None) -> str:
  """Writes `output_dir/<name>.png` and returns its path.

  Args:
    name: a key of `CASES`.
    output_dir: folder for the PNG (created).
    captures_dir: folder of the real captures; a case with a capture shows it when the file is there.
  """
  if name not in CASES:
    raise ValueError(f'unknown gallery case {name!r}; allowed: {sorted(CASES)}')
  case = CASES[name]
  wave = case.make()
  iq = _received(wave, seed=len(name))
  annotations = wave.annotations or [{'label': wave.label, 'freq_lower_edge': -wave.bandwidth_hz / 2,
                                      'freq_upper_edge': wave.bandwidth_hz / 2, 'sample_start': 0,
                                      'sample_count': len(iq), 'occupancy': wave.occupancy}]
  images = _panels(iq, wave.sample_rate, 'synthetic, ')
  if case.capture and captures_dir and os.path.exists(os.path.join(captures_dir, case.capture)):
    recording = recordings.open_recording(os.path.join(captures_dir, case.capture), sample_rate=case.capture_rate,
                                          dtype=case.capture_dtype)
    real = recording.read(0, min(len(iq), recording.num_samples))
    images.update(_panels(real, case.capture_rate, 'capture, '))
  # Bursty signals: their labels as matlab mode shows them (rows whose read window meets a packet or pulse).
  bursty = bool(wave.annotations)
  mask = spectrogram.label_mask(annotations, wave.sample_rate, len(iq), IMAGE_SIZE, mode='band' if bursty else
                                'occupancy', spectrogram_mode='matlab' if bursty else 'average')
  os.makedirs(output_dir, exist_ok=True)
  return plotting.save_example_grid(
      [{'title': case.title, 'images': images,
        'masks': {'labels (matlab mode)' if bursty else 'occupancy labels': mask}}],
      os.path.join(output_dir, f'{name}.png'), wave.sample_rate, len(iq) / wave.sample_rate, dpi=DPI)


def render_realistic_scenes(output_dir: str, seeds=range(6), preset: str = 'realistic') -> str:
  """A figure of frames of a scene preset (61.44 Msps, 40 ms; `realistic` or one with WLAN and radar) with their
  band labels (a packet or pulse in the rows matlab mode shows it)."""
  config = scene_config.SCENE_PRESETS[preset](image_width=IMAGE_SIZE[1])
  rows = []
  for seed in seeds:
    frame = scene.generate_frame(seed, config)
    kinds = ', '.join(f"{s['standard']} {s['bandwidth_mhz']:g} MHz {s.get('duplex', 'fdd').upper()} "
                      f"{s.get('load', 'matlab')}" for s in frame.params['signals'])
    kinds += ''.join(f", {b['kind'].upper()}{' ' + b['format'] if 'format' in b else ''}"
                     f"{' co-channel' if b['cochannel'] else ''}" for b in frame.params.get('bursty', []))
    rows.append({'title': f'{preset} frame {seed}: {kinds}, SNR {frame.snr_db:.0f} dB',
                 'images': {'matlab mode': spectrogram.spectrogram_image(frame.iq, frame.sample_rate, IMAGE_SIZE)},
                 'masks': {'band labels': spectrogram.label_mask(frame.annotations, frame.sample_rate,
                                                                 len(frame.iq), IMAGE_SIZE, mode='band',
                                                                 spectrogram_mode='matlab')}})
  os.makedirs(output_dir, exist_ok=True)
  name = 'realistic_scenes.png' if preset == 'realistic' else f'{preset}_scenes.png'
  return plotting.save_example_grid(rows, os.path.join(output_dir, name), config.sample_rate, config.duration_s,
                                    dpi=DPI)


def render_wlan_masks(output_dir: str) -> str:
  """Verification: the power spectral density of each 802.11 format (90 % duty, no channel) against its
  transmit spectrum mask (dBr: relative to the PSD's maximum)."""
  import matplotlib.figure  # pylint: disable=g-import-not-at-top
  import scipy.signal  # pylint: disable=g-import-not-at-top
  fig = matplotlib.figure.Figure(figsize=(9, 3.4))
  axes = fig.subplots(1, 2, sharey=True)
  for ax, bandwidth in zip(axes, (20, 40)):
    for fmt in ('non_ht', 'ht', 'vht', 'he_su'):
      wave = wlan.wlan_waveform(bandwidth, fmt=fmt, seed=5, duration_s=0.01, duty=0.9, channel=None, beacons=False)
      f, psd = scipy.signal.welch(wave.iq, wave.sample_rate, nperseg=2048, return_onesided=False)
      order = np.argsort(f)
      ax.plot(f[order] / 1e6, 10 * np.log10(psd[order] / psd.max()), linewidth=0.8, label=fmt)
    for family, style in (('legacy', 'k--'), ('he', 'k:')):
      points = wlan_ppdu.SPECTRUM_MASKS[(family, bandwidth)]
      x = [-p[0] for p in points[::-1]] + [p[0] for p in points]
      y = [p[1] for p in points[::-1]] + [p[1] for p in points]
      ax.plot(x, y, style, linewidth=0.8, label=f'mask ({"HE" if family == "he" else "non-HT/HT/VHT"})')
    ax.set_xlim(-30.72, 30.72)
    ax.set_ylim(-90, 5)
    ax.set_title(f'{bandwidth} MHz channel', fontsize=8)
    ax.set_xlabel('frequency (MHz)', fontsize=8)
    ax.tick_params(labelsize=7)
  axes[0].set_ylabel('PSD (dBr)', fontsize=8)
  axes[1].legend(fontsize=6, loc='lower center')
  fig.tight_layout()
  os.makedirs(output_dir, exist_ok=True)
  return plotting.save_atomically(fig, os.path.join(output_dir, 'wlan_spectrum_masks.png'), DPI + 28)


def render_realistic_vs_captures(output_dir: str, captures_dir: str, seeds=range(4), scaling: str = 'floor') -> str:
  """Realistic frames through a receiver and the capture path beside the first frame of every development capture
  (`io.catalog`, the held-out two excluded), imaged the same way (128x128, matlab mode, `scaling`), with their band
  truth (white: no label)."""
  size = (128, 128)
  image_config = synthetic.ImageConfig(size=size, scaling=scaling)
  rows = []
  with tempfile.TemporaryDirectory() as folder:
    for entry in catalog.CAPTURES:
      if entry.file in catalog.HELD_OUT or not os.path.exists(os.path.join(captures_dir, entry.file)):
        continue
      recording = recordings.read_recording(catalog.write_sigmf(entry, captures_dir, folder))
      frame = next(frames.recording_frames(recording, size, scaling=scaling))
      rows.append({'title': f'capture {recording.name} ({frame.duration_s * 1e3:g} ms)', 'images': {
          f'{scaling} scaling': frame.image}, 'masks': {'band truth': frames.label_mask(frame)}})
  config = scene.SceneConfig.realistic(image_width=size[1])
  for seed in seeds:
    example = capture.make_example(seed, config, image_config)
    receiver = example['params']['receiver']
    kinds = ', '.join(f"{s['standard']} {s['bandwidth_mhz']:g}" for s in example['params']['signals'])
    rows.append({'title': f"realistic {seed}: {kinds} via {receiver['kind']} at {receiver['capture_rate'] / 1e6:g} "
                          f"Msps, {receiver['adc_bits']} bit", 'images': {f'{scaling} scaling': example['image']},
                 'masks': {'band truth': example['mask']}})
  os.makedirs(output_dir, exist_ok=True)
  return plotting.save_example_grid(rows, os.path.join(output_dir, 'realistic_vs_captures.png'), MODEL_RATE, FRAME_S,
                                    dpi=DPI)


def render_wlan_detection(output_dir: str) -> str:
  """Verification: a generated 802.11 channel (HE SU data, Acks, TGn D, 25 dB SNR) with each PPDU's annotated span
  and where `wlan_scan.detect_packets` (an independent receiver: L-STF autocorrelation, L-LTF timing, L-SIG
  decoding) finds one, with the L-SIG LENGTH it reads."""
  import matplotlib.figure  # pylint: disable=g-import-not-at-top
  from specsense_jax.signals import wlan_scan  # pylint: disable=g-import-not-at-top
  wave = wlan.wlan_waveform(20, fmt='he_su', seed=3, duration_s=0.01, duty=0.6, channel='D', sample_rate=30.72e6)
  iq = channel.add_awgn(wave.iq, 25.0, np.random.default_rng(0), signal_power=1.0)
  found = wlan_scan.detect_packets(iq, wave.sample_rate)
  fig = matplotlib.figure.Figure(figsize=(9, 2.8))
  ax = fig.subplots()
  t = np.arange(len(iq)) / wave.sample_rate * 1e3
  ax.plot(t[::4], 20 * np.log10(np.abs(iq[::4]) + 1e-6), linewidth=0.3, color='0.6')
  for a in wave.annotations:
    t0 = a['sample_start'] / wave.sample_rate * 1e3
    ax.axvspan(t0, t0 + a['sample_count'] / wave.sample_rate * 1e3, color='#3cb44b', alpha=0.2)
  for d in found:
    ax.axvline(d.start / wave.sample_rate * 1e3, color='#e6194b', linewidth=0.8)
    ax.text(d.start / wave.sample_rate * 1e3, 12, f' {d.length}', fontsize=6, rotation=90, va='bottom')
  ax.set_ylim(-40, 25)
  ax.set_xlabel('time (ms)', fontsize=8)
  ax.set_ylabel('|x| (dB)', fontsize=8)
  ax.set_title(f'{len(wave.annotations)} annotated PPDUs (green), {len(found)} found by L-STF/L-LTF/L-SIG (red, '
               'with the L-SIG LENGTH read)', fontsize=8)
  ax.tick_params(labelsize=7)
  fig.tight_layout()
  os.makedirs(output_dir, exist_ok=True)
  return plotting.save_atomically(fig, os.path.join(output_dir, 'wlan_detection.png'), DPI + 28)


def render_all(output_dir: str, captures_dir: str | None = None) -> list[str]:
  """Every case of `CASES`, the realistic scenes, and realistic frames beside the captures (when present); returns
  the PNG paths."""
  paths = [render_case(name, output_dir, captures_dir) for name in CASES] + [
      render_realistic_scenes(output_dir), render_realistic_scenes(output_dir, preset='realistic_bursty'),
      render_wlan_masks(output_dir), render_wlan_detection(output_dir)]
  if captures_dir and os.path.isdir(captures_dir):
    paths.append(render_realistic_vs_captures(output_dir, captures_dir))
  return paths
