"""The over-the-air recordings in ../shared/realdata/captures, described as SigMF with carrier annotations.

Facts from that folder's README (carriers, rates, centres); `write_sigmf` turns each raw file into a SigMF
recording so the captured TFDS configs and `predict` can read it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from specsense_jax.io import sigmf


@dataclasses.dataclass(frozen=True)
class Capture:
  file: str
  datatype: str
  sample_rate: float
  center_frequency: float
  carriers: tuple[tuple[str, float, float], ...]  # (label, lower edge, upper edge) in Hz relative to centre
  description: str


CAPTURES = (
    Capture('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 'ci8', 19.2e6, 1815.3e6, (('LTE', -10e6, 10e6),),
            'LTE FDD band 3, one 20 MHz (100 RB) carrier, HackRF'),
    Capture('lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 'ci8', 19.2e6, 1890e6, (('LTE', -10e6, 10e6),),
            'TD-LTE band 39, one 20 MHz carrier, uplink periods visible as gaps, HackRF'),
    Capture('nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', 'cf32_le', 46.08e6, 3502.8e6, (('NR', 6e6, 14e6),),
            'NR n78 TDD, PCI 500, SSB at +9.84 MHz, NR bursts between about +6 and +14 MHz, USRP X300'),
    Capture('nr_n78_100MHz_f3500.01MHz_s184.32Msps_cf32.bin', 'cf32_le', 184.32e6, 3500.01e6,
            (('NR', -50e6, 50e6), ('Unknown', 50e6, 92.16e6)),
            'commercial NR n78, 273 PRB at 30 kHz (100 MHz), PCI 579; other operators above +50 MHz'),
    Capture('nr_n78_40MHz_f3427.5MHz_s46.08Msps_cf32.bin', 'cf32_le', 46.08e6, 3427.5e6, (('NR', -20e6, 20e6),),
            'NR n78 40 MHz (106 PRB at 30 kHz), PCI 1, sparse bursts'),
    Capture('nr_n3_20MHz_f1865MHz_s23.04Msps_cf32.bin', 'cf32_le', 23.04e6, 1865e6, (('NR', -10e6, 10e6),),
            'NR n3 FDD 20 MHz (106 PRB at 15 kHz), PCI 1'),
)


def write_sigmf(capture: Capture, captures_dir: str, output_dir: str) -> str:
  """Copies one raw capture into `output_dir` as SigMF (data bytes unchanged) with carrier annotations."""
  raw = os.path.join(captures_dir, capture.file)
  if not os.path.isfile(raw):
    raise sigmf.SigMFError(f'{raw}: file not found')
  sample_bytes = 2 if capture.datatype == 'ci8' else 8
  num_samples = os.path.getsize(raw) // sample_bytes
  base = os.path.join(output_dir, os.path.splitext(capture.file)[0])
  meta_path = sigmf.write_metadata(
      base, capture.datatype, capture.sample_rate, num_samples, center_frequency=capture.center_frequency,
      annotations=[{'label': label, 'freq_lower_edge': lo, 'freq_upper_edge': hi, 'sample_start': 0,
                    'sample_count': num_samples} for label, lo, hi in capture.carriers],
      description=capture.description)
  shutil.copyfile(raw, base + '.sigmf-data.tmp')
  os.replace(base + '.sigmf-data.tmp', base + '.sigmf-data')
  return meta_path


def write_all(captures_dir: str, output_dir: str) -> list[str]:
  """All catalogued captures as SigMF recordings in `output_dir`; returns the metadata paths."""
  return [write_sigmf(c, captures_dir, output_dir) for c in CAPTURES]
