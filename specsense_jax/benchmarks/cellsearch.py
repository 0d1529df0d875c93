"""Cell search and MIB decoding against SNR.

LTE: generated cells (every bandwidth, FDD and TDD, 1/2/4 ports, traffic loads) through EPA fading with a CFO up
to 5 kHz and a random frame offset, 20 ms each; a trial succeeds when the cell ID, the duplex mode and a MIB
(N_RB, port count and the SFN of its frame) are all right.
NR: generated cells (15/30 kHz, 10-40 MHz, realistic loads, PCI drawn) through TDL-A fading, 20 ms each; the
SS/PBCH block searched at its offset and its PBCH decoded; a trial succeeds when the PCI and the whole MIB (SFN,
k_SSB, CORESET0, search space 0) are right.
"""

from __future__ import annotations

import time

import numpy as np

from specsense_jax.benchmarks import harness
from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import lte_mib
from specsense_jax.signals import lte_pbch
from specsense_jax.signals import lte_receiver
from specsense_jax.signals import nr
from specsense_jax.signals import nr_mib
from specsense_jax.signals import nr_pbch
from specsense_jax.signals import nr_receiver

SNRS_DB = (-5, 0, 5, 10, 15, 20)
DURATION_S = 0.02
_LOADS = ('idle', 'light', 'medium', 'heavy')


def _trial(seed: int, snr_db: float) -> tuple[bool, bool, float]:
  """(cell found, MIB right, seconds) of one generated capture."""
  rng = np.random.default_rng(seed)
  bandwidth = float(rng.choice(list(lte.LTE_N_RB)))
  ports = int(rng.choice((1, 2, 4)))
  options = dict(duplex='fdd') if rng.random() < 0.5 else dict(
      duplex='tdd', ul_dl_config=int(rng.integers(7)), special_subframe_config=int(rng.integers(10)))
  ncellid, cfo = int(rng.integers(504)), float(rng.uniform(-5e3, 5e3))
  rate = 1.92e6 * 2 ** int(np.ceil(np.log2(max(1.0, bandwidth * 1.1e6 / 1.92e6))))
  wave = lte.lte_waveform(bandwidth, ncellid=ncellid, seed=seed, sample_rate=rate, duration_s=DURATION_S,
                          num_ports=ports, load=str(rng.choice(_LOADS)), **options)
  pad = int(rng.integers(int(rate * 0.01)))
  iq = channel.apply_channel(np.concatenate([np.zeros(pad, np.complex64), wave.iq]), rate, seed=seed,
                             model='epa', doppler_hz=5, snr_db=snr_db, freq_offset_hz=cfo)
  start = time.perf_counter()
  try:
    cell = lte_receiver.detect_lte_cell(iq, rate)
    decoded = lte_mib.decode_mib(iq, rate, cell)
  except ValueError:
    return False, False, time.perf_counter() - start
  elapsed = time.perf_counter() - start
  found = (cell.ncellid, cell.duplex) == (ncellid, options['duplex'])
  frame = rate * 0.01

  def right(d: lte_mib.DecodedMib) -> bool:
    index = int(round((d.frame_start - pad) / frame))
    return d.mib == lte_pbch.Mib(lte.n_rb_for(bandwidth), 'normal', 1, sfn=(wave.params['sfn0'] + index) % 1024,
                                 num_ports=ports)
  return found, found and any(right(d) for d in decoded), elapsed


def _nr_trial(seed: int, snr_db: float) -> tuple[bool, bool, float]:
  """(cell found, MIB right, seconds) of one generated NR capture."""
  rng = np.random.default_rng(seed)
  scs = int(rng.choice((15, 30)))
  bandwidth = int(rng.choice((10, 20, 40)))
  ncellid = int(rng.integers(1008))
  rate = 61.44e6 if bandwidth == 40 else 30.72e6
  load = str(rng.choice(_LOADS))
  source = nr.nr_source(bandwidth, scs, ncellid=ncellid, seed=seed, duration_s=DURATION_S, load=load)
  wave = nr.nr_waveform(bandwidth, scs, ncellid=ncellid, seed=seed, sample_rate=rate, duration_s=DURATION_S,
                        load=load)
  offset = (source.ssb_subcarrier - 6 * wave.params['n_rb']) * scs * 1e3
  iq = channel.apply_channel(wave.iq, rate, seed=seed, model='tdl', doppler_hz=5, snr_db=snr_db)
  start = time.perf_counter()
  try:
    cell = nr_receiver.detect_nr_cell(iq, rate, scs, offset)
    decoded = nr_mib.decode_ssb(iq, rate, ncellid=cell['ncellid'], scs_khz=scs, ssb_offset_hz=offset,
                                pss_start=cell['pss_start'])
  except ValueError:
    return False, False, time.perf_counter() - start
  elapsed = time.perf_counter() - start
  p = wave.params
  found = cell['ncellid'] == ncellid
  frame = int(cell['pss_start'] // int(rate * 0.01))
  expected = nr_pbch.NrMib(sfn=(p['sfn0'] + frame) % 1024, k_ssb=p['k_ssb'], scs_common_khz=scs,
                           coreset_zero=p['coreset0_index'], search_space_zero=p['search_space0_index']) \
      if p['coreset0_index'] is not None else None
  right = decoded is not None and (decoded.mib == expected if expected else decoded.mib.k_ssb == 31)
  return found, found and right, elapsed


def run(options: harness.Options) -> list[dict]:
  trials = 2 if options.quick else max(10, 4 * options.repeats)
  rows = []
  for work, trial in ((f'LTE cell search + MIB, {DURATION_S * 1e3:g} ms, EPA, CFO <= 5 kHz', _trial),
                      (f'NR SSB search + MIB, {DURATION_S * 1e3:g} ms, TDL-A', _nr_trial)):
    for snr_db in SNRS_DB[-2:] if options.quick else SNRS_DB:
      results = [trial(1000 * (snr_db + 10) + i, snr_db) for i in range(trials)]
      rows.append({'work': work, 'snr_db': snr_db, 'trials': trials,
                   'cell_found': np.mean([r[0] for r in results]), 'mib_decoded': np.mean([r[1] for r in results]),
                   'median_s': float(np.median([r[2] for r in results])),
                   'real_time_factor': float(np.median([r[2] for r in results])) / DURATION_S})
  return rows
