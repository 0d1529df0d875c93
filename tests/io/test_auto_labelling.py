"""A folder labelled without a human: a raw recording (settings from a manifest) and a SigMF one become SigMF
recordings with automatic annotations and figures; bad input stops before anything is written."""

import json

import numpy as np
import pytest

from specsense_jax.io import auto_labelling
from specsense_jax.io import recordings
from specsense_jax.io import sigmf
from specsense_jax.signals import lte


@pytest.fixture(scope='module')
def lte_iq():
  wave = lte.lte_waveform(3, ncellid=77, seed=2, sample_rate=3.84e6, duration_s=0.025, load='medium')
  noise = np.random.default_rng(1).normal(size=(len(wave.iq), 2)) @ [0.03, 0.03j]
  iq = wave.iq / np.sqrt(np.mean(np.abs(wave.iq) ** 2)) + noise
  return (0.25 * iq / np.abs(iq).max()).astype(np.complex64)


def test_label_folder(lte_iq, tmp_path):
  source = tmp_path / 'in'
  source.mkdir()
  raw = np.stack([lte_iq.real, lte_iq.imag], axis=1).astype('<f4')
  raw.tofile(source / 'cell.bin')
  sigmf.write_recording(str(source / 'noise'), (np.random.default_rng(3).normal(size=(40000, 2)) @ [0.01, 0.01j]),
                        3.84e6, center_frequency=1815.3e6)
  (source / 'manifest.json').write_text(json.dumps(
      {'cell.bin': {'sample_rate': 3.84e6, 'dtype': 'cf32', 'center_frequency': 1815.3e6}}))
  results = auto_labelling.label_folder(str(source), str(tmp_path / 'out'), manifest_path=str(source / 'manifest.json'))
  assert [r.meta_path for r in results] == [str(tmp_path / 'out' / 'cell.sigmf-meta'),
                                           str(tmp_path / 'out' / 'noise.sigmf-meta')]
  cell = recordings.open_recording(str(tmp_path / 'out' / 'cell.sigmf-meta'))
  assert (tmp_path / 'out' / 'cell.sigmf-data').read_bytes() == (source / 'cell.bin').read_bytes()  # copied
  (annotation,) = cell.annotations
  assert annotation['label'] == 'LTE' and annotation['sample_count'] == len(lte_iq)
  assert (annotation['freq_lower_edge'], annotation['freq_upper_edge']) == (-1.5e6, 1.5e6)
  meta = json.loads((tmp_path / 'out' / 'cell.sigmf-meta').read_text())
  assert meta['annotations'][0]['specsense:cell_id'] == 77 and meta['annotations'][0]['specsense:mib']['n_rb'] == 15
  assert meta['global']['specsense:truth'].startswith('automatic')
  assert not results[1].annotations  # noise: no cell, no annotation
  assert (tmp_path / 'out' / 'cell.png').stat().st_size > 10_000


def test_bad_input_writes_nothing(lte_iq, tmp_path):
  source = tmp_path / 'in'
  source.mkdir()
  np.stack([lte_iq.real, lte_iq.imag], axis=1).astype('<f4').tofile(source / 'cell.bin')
  with pytest.raises(ValueError, match='must differ from --input'):
    auto_labelling.label_folder(str(source), str(source))
  with pytest.raises(ValueError, match=r'cell.bin: a raw recording needs sample_rate, dtype, center_frequency'):
    auto_labelling.label_folder(str(source), str(tmp_path / 'out'))
  assert not (tmp_path / 'out').exists()
  (tmp_path / 'empty').mkdir()
  with pytest.raises(ValueError, match='no SigMF or raw recordings'):
    auto_labelling.label_folder(str(tmp_path / 'empty'), str(tmp_path / 'out'))
  (source / 'bad.json').write_text('[1, 2]')
  with pytest.raises(ValueError, match='a JSON object of file name'):
    auto_labelling.label_folder(str(source), str(tmp_path / 'out'), manifest_path=str(source / 'bad.json'))
  # a bad file after a good one: nothing is written for either
  (source / 'late.bin').write_bytes(b'\0' * 64)
  manifest = {name: {'sample_rate': 7.68e6, 'dtype': dtype, 'center_frequency': 1.8e9}
              for name, dtype in (('cell.bin', 'cf32_le'), ('late.bin', 'cf64'))}
  (source / 'manifest.json').write_text(json.dumps(manifest))
  with pytest.raises(ValueError, match=r"late.bin: --dtype must be one of .*got 'cf64'"):
    auto_labelling.label_folder(str(source), str(tmp_path / 'out'), manifest_path=str(source / 'manifest.json'))
  assert not (tmp_path / 'out').exists()
  # two inputs that would share an output name
  (source / 'late.bin').unlink()
  np.stack([lte_iq.real, lte_iq.imag], axis=1).astype('<f4').tofile(source / 'cell.cf32')
  manifest['cell.cf32'] = manifest['cell.bin']
  (source / 'manifest.json').write_text(json.dumps(manifest))
  with pytest.raises(ValueError, match=r'cell.cf32 and .*cell.bin would both be written as cell.sigmf-meta'):
    auto_labelling.label_folder(str(source), str(tmp_path / 'out'), manifest_path=str(source / 'manifest.json'))
  assert not (tmp_path / 'out').exists()
