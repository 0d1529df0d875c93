"""Figures: spectrogram images beside their label masks, with MHz/ms axes and a class legend."""

from __future__ import annotations

import os
import textwrap

import matplotlib.colors
import matplotlib.figure
import matplotlib.patches
import numpy as np

from specsense_jax.constants import CLASS_COLORS
from specsense_jax.constants import CLASS_NAMES

# Figures are drawn with matplotlib's object API (no pyplot): nothing here picks a backend or keeps global
# figure state, so importing this module changes nothing for the rest of the process.

def _extent(sample_rate: float, duration_s: float):
  # x: frequency (MHz) left to right; y: time (ms) top to bottom, row 0 = frame start.
  return (-sample_rate / 2e6, sample_rate / 2e6, duration_s * 1e3, 0)


def save_example_grid(rows: list[dict], path: str, sample_rate: float, duration_s: float, *, dpi: int = 110) -> str:
  """Writes a figure with one row per example: each image panel, then each mask panel.

  Args:
    rows: dicts with 'title', 'images' ({panel title: uint8 (H, W, 3)}), 'masks' ({panel title: (H, W)}).
    path: PNG path (written atomically).
    sample_rate: frame sample rate (axis in MHz).
    duration_s: frame length (axis in ms).
    dpi: resolution of the PNG.
  """
  columns = max(len(r['images']) + len(r['masks']) for r in rows)
  fig = matplotlib.figure.Figure(figsize=(3.2 * columns, 3.0 * len(rows)))
  axes = fig.subplots(len(rows), columns, squeeze=False)
  cmap = matplotlib.colors.ListedColormap(CLASS_COLORS)
  extent = _extent(sample_rate, duration_s)
  for r, row in enumerate(rows):
    panels = [(t, im, None) for t, im in row['images'].items()] + [(t, m, cmap) for t, m in row['masks'].items()]
    for c, (title, data, colormap) in enumerate(panels):
      ax = axes[r, c]
      kwargs = dict(cmap=colormap, vmin=0, vmax=len(CLASS_COLORS) - 1) if colormap else {}
      if colormap:  # no-label pixels (255) stay blank
        data = np.ma.masked_greater_equal(data, len(CLASS_COLORS))
      ax.imshow(data, extent=extent, aspect='auto', interpolation='nearest', **kwargs)
      heading = textwrap.fill(row['title'], 48) + '\n' if c == 0 else ''
      ax.set_title(heading + title, fontsize=7)
      ax.set_xlabel('frequency (MHz)', fontsize=7)
      ax.set_ylabel('time (ms)', fontsize=7)
      ax.tick_params(labelsize=6)
    for c in range(len(panels), columns):
      axes[r, c].axis('off')
  handles = _legend(max((int(np.max(m, where=m < len(CLASS_COLORS), initial=0)) for r in rows
                          for m in map(np.asarray, r['masks'].values())), default=0))
  fig.legend(handles=handles, loc='lower center', ncol=len(handles), fontsize=8)
  fig.tight_layout(rect=(0, 0.04, 1, 1))
  return save_atomically(fig, path, dpi)


def save_prediction_figure(image: np.ndarray, mask: np.ndarray, path: str, *, center_frequency: float,
                           span_hz: float, start_s: float, duration_s: float, title: str = '',
                           confidence: np.ndarray | None = None) -> str:
  """The received spectrogram (absolute MHz, ms) above the estimated labels, with a legend, and below them the
  per-pixel confidence (the largest class probability, after the model's recorded temperature) when given.

  Mask values outside the class range (columns without data) are drawn white, in both lower panels.
  """
  panels = 2 if confidence is None else 3
  fig = matplotlib.figure.Figure(figsize=(5.2, 3.2 * panels))
  axes = fig.subplots(panels, 1, sharex=True)
  extent = ((center_frequency - span_hz / 2) / 1e6, (center_frequency + span_hz / 2) / 1e6,
            (start_s + duration_s) * 1e3, start_s * 1e3)
  axes[0].imshow(image, extent=extent, aspect='auto', interpolation='nearest')
  axes[0].set_title(title or 'received spectrogram', fontsize=8)
  blank = mask >= len(CLASS_COLORS)
  axes[1].imshow(np.ma.masked_array(mask, blank), extent=extent, aspect='auto', interpolation='nearest',
                 cmap=matplotlib.colors.ListedColormap(CLASS_COLORS), vmin=0, vmax=len(CLASS_COLORS) - 1)
  axes[1].set_title('estimated labels', fontsize=8)
  if confidence is not None:
    shown = axes[2].imshow(np.ma.masked_array(confidence, blank), extent=extent, aspect='auto',
                           interpolation='nearest', cmap='magma', vmin=0, vmax=1)
    axes[2].set_title('confidence (largest class probability; dark: unsure)', fontsize=8)
    colorbar = fig.colorbar(shown, cax=axes[2].inset_axes((1.01, 0.0, 0.025, 1.0)))  # panel keeps its width
    colorbar.ax.tick_params(labelsize=6)
  for ax in axes:
    ax.set_ylabel('time (ms)', fontsize=8)
    ax.tick_params(labelsize=7)
  axes[-1].set_xlabel('frequency (MHz)', fontsize=8)
  axes[1].legend(handles=_legend(int(mask[~blank].max(initial=0))), loc='upper right', fontsize=7, framealpha=0.8)
  fig.tight_layout()
  return save_atomically(fig, path, 100)


def save_atomically(fig, path: str, dpi: float) -> str:
  """Writes `fig` as a PNG at `path` through a temporary file and a rename (no half-written figure); returns
  `path`."""
  tmp = path + '.tmp.png'
  fig.savefig(tmp, dpi=dpi)
  os.replace(tmp, path)
  return path


def _legend(highest_class: int) -> list:
  """Legend patches of the classes up to `highest_class` (at least Noise, NR and LTE): class sets are prefixes of
  CLASS_NAMES, so a figure names the classes of its set and no others."""
  shown = max(3, highest_class + 1)
  return [matplotlib.patches.Patch(color=col, label=name) for name, col in zip(CLASS_NAMES[:shown], CLASS_COLORS)]


def save_annotation_figure(iq: np.ndarray, sample_rate: float, path: str, *, center_frequency: float,
                           annotations: list[dict], title: str = '') -> str:
  """The spectrogram of `iq` (absolute MHz, ms; 256-point Hann segments, dB) with each annotation drawn as a
  box in its class colour (Ignore hatched grey) and named; written atomically."""
  import scipy.signal  # pylint: disable=g-import-not-at-top
  nperseg = max(8, min(256, len(iq)))
  hop = max(nperseg, len(iq) // 400)  # at most ~400 rows whatever the length
  starts = np.arange(0, max(1, len(iq) - nperseg + 1), hop)
  segments = np.stack([iq[s:s + nperseg] for s in starts]) * scipy.signal.get_window('hann', nperseg)
  power = np.fft.fftshift(np.abs(np.fft.fft(segments, axis=1)) ** 2, axes=1)
  image = 10 * np.log10(power + 1e-20)
  fig = matplotlib.figure.Figure(figsize=(6.4, 4.2))
  ax = fig.subplots()
  duration = len(iq) / sample_rate
  low, high = (center_frequency - sample_rate / 2) / 1e6, (center_frequency + sample_rate / 2) / 1e6
  floor = np.percentile(image, 5)
  ax.imshow(image, extent=(low, high, duration * 1e3, 0), aspect='auto', interpolation='nearest', cmap='viridis',
            vmin=floor, vmax=max(floor + 1, image.max()))
  colours = dict(zip(CLASS_NAMES, CLASS_COLORS))
  for a in annotations:
    lo, hi = (center_frequency + a['freq_lower_edge']) / 1e6, (center_frequency + a['freq_upper_edge']) / 1e6
    t0, t1 = a['sample_start'] / sample_rate * 1e3, (a['sample_start'] + a['sample_count']) / sample_rate * 1e3
    ignore = a['label'] not in colours
    ax.add_patch(matplotlib.patches.Rectangle((lo, t0), hi - lo, t1 - t0, fill=False, linewidth=1.5,
                                              edgecolor='0.6' if ignore else colours[a['label']],
                                              hatch='//' if ignore else None))
    cell = a.get('specsense:cell_id')
    ax.text(lo, t0, f" {a['label']}" + (f' {cell}' if cell is not None and not ignore else ''), fontsize=7,
            color='white', va='top')
  ax.set_xlabel('frequency (MHz)', fontsize=8)
  ax.set_ylabel('time (ms)', fontsize=8)
  ax.set_title(title, fontsize=8)
  fig.tight_layout()
  return save_atomically(fig, path, 110)


def save_confusion_matrix(confusion: np.ndarray, path: str) -> None:
  """Row-normalized confusion matrix (true classes down, predicted across) with each cell's share."""
  confusion = np.asarray(confusion, np.float64)
  names = CLASS_NAMES[:confusion.shape[0]]
  normalized = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
  fig = matplotlib.figure.Figure(figsize=(4, 3.5))
  ax = fig.subplots()
  ax.imshow(normalized, cmap='Blues', vmin=0, vmax=1)
  for i in range(len(names)):
    for j in range(len(names)):
      ax.text(j, i, f'{normalized[i, j]:.3f}', ha='center', va='center',
              color='white' if normalized[i, j] > 0.5 else 'black', fontsize=8)
  ax.set_xticks(range(len(names)), names)
  ax.set_yticks(range(len(names)), names)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  fig.tight_layout()
  fig.savefig(path, dpi=110)
