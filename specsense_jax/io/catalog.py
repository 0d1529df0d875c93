"""The over-the-air recordings in ../shared/realdata/captures, described as SigMF with their truth regions.

Facts from that folder's README (carriers, rates, centres) and from spectra measured on the raw files (power
spectral density per time slice, 60-480 kHz bins); `write_sigmf` turns each raw file into a SigMF recording so
the captured TFDS configs, `predict` and the capture benchmark can read it.

Each capture says which truth its annotations are (`truth`) and why (`evidence`):

- 'nominal band': the carrier's channel is known and the recording shows energy across it (both edges), so
  its whole nominal band is labelled on every row (the MathWorks band convention).
- 'visible extent + Ignore': the recording shows only part of the carrier (an idle cell: SSB, CORESET0,
  SIB1), so that part is labelled and the rest of the band the carrier occupies, or could occupy where its
  channel is unknown, is an `Ignore` region (`constants.IGNORE_LABEL`, no label: 255 in masks, skipped by
  losses and metrics), and so is energy beyond it that no standard can be proven for. Columns outside every
  region are Noise, and are quiet: their median level within a few dB of the floor (tested).

Regions are in Hz relative to the centre and span the whole recording (no capture shows a carrier switching
on or off). A nominal band may reach beyond the captured band (a 20 MHz channel at 19.2 Msps); the SigMF
annotations are clipped to it. The DC/LO spur is not a class and stays Noise.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from specsense_jax import constants
from specsense_jax.io import sigmf

NOMINAL_BAND = 'nominal band'
VISIBLE_EXTENT = 'visible extent + Ignore'
TRUTHS = (NOMINAL_BAND, VISIBLE_EXTENT)
REGION_LABELS = (*constants.CLASS_NAMES[1:], constants.IGNORE_LABEL)  # Noise is what no region covers


@dataclasses.dataclass(frozen=True)
class Capture:
  """One raw recording and its truth.

  Attributes:
    file: raw file name in the captures folder.
    datatype: SigMF datatype of the raw samples ('ci8', 'cf32_le').
    sample_rate: samples per second.
    center_frequency: Hz.
    regions: (label, lower edge, upper edge) in Hz relative to the centre, over the whole recording; label
      'NR', 'LTE', 'Unknown' or 'Ignore'.
    description: what the recording holds.
    truth: which truth the regions are, one of `TRUTHS`.
    evidence: why: what the recording shows, measured.
  """
  file: str
  datatype: str
  sample_rate: float
  center_frequency: float
  regions: tuple[tuple[str, float, float], ...]
  description: str
  truth: str
  evidence: str

  def __post_init__(self):
    if self.truth not in TRUTHS:
      raise ValueError(f'{self.file}: truth must be one of {TRUTHS}, got {self.truth!r}')
    if self.datatype not in ('ci8', 'cf32_le'):
      raise ValueError(f"{self.file}: datatype must be 'ci8' or 'cf32_le', got {self.datatype!r}")
    for label, lo, hi in self.regions:
      if label not in REGION_LABELS:
        raise ValueError(f'{self.file}: region label must be one of {REGION_LABELS}, got {label!r}')
      if not lo < hi:
        raise ValueError(f'{self.file}: region {label} needs lower edge < upper edge, got {lo} and {hi}')
    has_ignore = any(label == constants.IGNORE_LABEL for label, _, _ in self.regions)
    if has_ignore != (self.truth == VISIBLE_EXTENT):
      raise ValueError(f'{self.file}: truth {self.truth!r} and Ignore regions go together (Ignore regions: '
                       f'{has_ignore})')

  @property
  def sample_bytes(self) -> int:
    """Bytes per complex sample."""
    return 2 if self.datatype == 'ci8' else 8

  def annotations(self, num_samples: int) -> list[dict]:
    """The regions as SigMF-shaped annotations over `num_samples`, clipped to the captured band."""
    half = self.sample_rate / 2
    clipped = [(label, max(lo, -half), min(hi, half)) for label, lo, hi in self.regions]
    return [{'label': label, 'freq_lower_edge': lo, 'freq_upper_edge': hi, 'sample_start': 0,
             'sample_count': num_samples} for label, lo, hi in clipped if lo < hi]


_NR_N3_SAME_CELL = 'NR n3 FDD 20 MHz (106 PRB at 15 kHz), PCI 1'

CAPTURES = (
    Capture('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 'ci8', 19.2e6, 1815.3e6, (('LTE', -10e6, 10e6),),
            'LTE FDD band 3, one 20 MHz (100 RB) carrier, HackRF', NOMINAL_BAND,
            'energy 18-28 dB over the floor from -9.1 to +8.9 MHz in every 10 ms (100 RB: +-9 MHz); the 20 MHz '
            'channel reaches 0.4 MHz beyond the +-9.6 MHz captured'),
    Capture('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin', 'ci8', 19.2e6, 1815.3e6, (('LTE', -10e6, 10e6),),
            'LTE FDD band 3, the same 20 MHz carrier at another time (PSS N_ID2 = 1), frequency-selective fading, '
            'PDSCH burst at 35-42 ms, HackRF', NOMINAL_BAND,
            'energy 10-19 dB over the floor across -9.6..+9.4 MHz (fading ripple, no gap wider than the ripple)'),
    Capture('lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 'ci8', 19.2e6, 1890e6, (('LTE', -10e6, 10e6),),
            'TD-LTE band 39, one 20 MHz carrier, uplink periods visible as gaps, HackRF', NOMINAL_BAND,
            'energy 18-29 dB over the floor across -9.6..+9.4 MHz; the uplink gaps are part of the carrier '
            '(band convention: every row)'),
    Capture('nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', 'cf32_le', 46.08e6, 3502.8e6,
            (('NR', 6.0e6, 15.5e6), ('Ignore', -23.04e6, 6.0e6), ('Ignore', 15.5e6, 23.04e6)),
            'NR n78 TDD, srsRAN cell PCI 500, SSB at +9.84 MHz, mostly noise with NR bursts, USRP X300',
            VISIBLE_EXTENT,
            'NR only in +6.0..+15.5 MHz: the SSB (+6.2..+13.5 MHz at 7.77 ms) and 52-PRB bursts at 15 kHz '
            '(+6.06..+15.42 MHz at 0.03 and 0.25 ms); the channel is unknown: 10 MHz around the bursts fits, '
            'so does a 40-100 MHz n78 carrier (46.08 Msps is the 40 MHz rate), which could reach every column '
            'of the +-23.04 MHz captured, so the rest of the band, DC spur included, is Ignore'),
    Capture('nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin', 'cf32_le', 184.32e6, 3500.01e6,
            (('NR', -50e6, 50e6), ('Unknown', 50e6, 92.16e6)),
            'commercial NR n78, 273 PRB at 30 kHz (100 MHz), PCI 579; other operators above +50 MHz',
            NOMINAL_BAND,
            'energy over the floor from -49.2 to +49.2 MHz (273 PRB: +-49.14 MHz), both edges sharp; other '
            "operators' signals in +51..+90.8 MHz are Unknown, below -50 MHz noise"),
    Capture('nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', 'cf32_le', 46.08e6, 3427.5e6,
            (('NR', -19.3e6, -10.5e6), ('Ignore', -20e6, -19.3e6), ('Ignore', -10.5e6, 20e6)),
            'NR n78 40 MHz (106 PRB at 30 kHz), PCI 1, SSB at -14.22 MHz, sparse bursts', VISIBLE_EXTENT,
            'NR only in -19.3..-10.5 MHz: SSB -17.9..-10.6 MHz, a burst -19.2..-15.4 MHz whose lower edge is the '
            'centred 106-PRB grid edge (-19.08 MHz); the +15.6..+19 MHz bump 34 dB down is the IQ image of '
            'that burst, so the upper half of the -20..+20 MHz channel shows nothing in 1 ms: Ignore'),
    Capture('nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', 'cf32_le', 23.04e6, 1865e6,
            (('NR', -9.2e6, -5.5e6), ('Ignore', -11.52e6, -9.2e6), ('Ignore', -5.5e6, 11.52e6)),
            _NR_N3_SAME_CELL + ', SSB at 1857.65 MHz', VISIBLE_EXTENT,
            'NR only in the SSB, -9.2..-5.5 MHz (0.12-0.41 ms); during the SSB the floor of the whole captured '
            'band rises about 19 dB evenly, beyond the +-9.54 MHz of 106 PRB too, so no edge of the -10..+10 MHz '
            'channel shows: the rest of it is Ignore. Outside the SSB a block from -4.0 MHz to beyond the '
            "captured +11.52 MHz stands 17-21 dB over the floor in every row; it crosses the cell's +9.54 MHz grid "
            "edge at one level, so it is not (only) this cell's PDSCH but another transmitter, unidentified (its "
            'lower edge fits a 20 MHz LTE carrier at 1870 MHz, unproven in 1 ms); -11.52..-10 MHz holds bursts '
            'up to 30 dB over the floor in most rows. Nothing beyond the channel is provably Noise: the whole '
            'captured band outside the SSB is Ignore (as the automatic annotations have it)'),
    Capture('nr_n3_20MHz_sib_f1865MHz_s23.04Msps_cf32.bin', 'cf32_le', 23.04e6, 1865e6,
            (('NR', -9.66e6, -5.7e6), ('Ignore', -10e6, -9.66e6), ('Ignore', -5.7e6, 10e6)),
            _NR_N3_SAME_CELL + ', while it sends SIB1 (CORESET0 + SIB1 PDSCH, no SSB)', VISIBLE_EXTENT,
            'NR only in -9.66..-5.7 MHz (SIB1 PDSCH -9.66..-7.9 MHz all 1 ms, CORESET0 to -5.7 MHz in the first '
            '0.15 ms); the same cell\'s -10..+10 MHz channel shows nothing else: the rest of it is Ignore'),
)


# Recordings kept out of every decision about training (recipe, scaling, checkpoint choice) and reported apart: the
# retraining issue's own held-out check.
HELD_OUT = ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin', 'nr_n3_20MHz_sib_f1865MHz_s23.04Msps_cf32.bin')
HELD_OUT_NAMES = tuple(f.rsplit('.', 1)[0] for f in HELD_OUT)  # as recordings name themselves (no extension)


def write_sigmf(capture: Capture, captures_dir: str, output_dir: str) -> str:
  """Copies one raw capture into `output_dir` as SigMF (data bytes unchanged) with its truth regions.

  Args:
    capture: the catalogue entry.
    captures_dir: folder of the raw files.
    output_dir: where the `.sigmf-meta`/`.sigmf-data` pair goes.

  Returns:
    The path of the `.sigmf-meta` file. Its annotations are the capture's regions clipped to the captured
    band over the whole recording; `specsense:truth` and the description say which truth they are.
  """
  raw = os.path.join(captures_dir, capture.file)
  if not os.path.isfile(raw):
    raise sigmf.SigMFError(f'{raw}: file not found')
  num_samples = os.path.getsize(raw) // capture.sample_bytes
  base = os.path.join(output_dir, os.path.splitext(capture.file)[0])
  meta_path = sigmf.write_metadata(
      base, capture.datatype, capture.sample_rate, num_samples, center_frequency=capture.center_frequency,
      annotations=capture.annotations(num_samples),
      description=f'{capture.description}. Truth: {capture.truth} ({capture.evidence}).',
      extra_global={'specsense:truth': capture.truth})
  shutil.copyfile(raw, base + '.sigmf-data.tmp')
  os.replace(base + '.sigmf-data.tmp', base + '.sigmf-data')
  return meta_path


def write_all(captures_dir: str, output_dir: str) -> list[str]:
  """All catalogued captures as SigMF recordings in `output_dir`; returns the metadata paths."""
  return [write_sigmf(c, captures_dir, output_dir) for c in CAPTURES]
