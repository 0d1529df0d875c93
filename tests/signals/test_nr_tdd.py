"""NR TDD (tdd-UL-DL-ConfigurationCommon, TS 38.213 §11.1 / TS 38.331) and FDD left unchanged."""

import hashlib

import numpy as np
import pytest

from specsense_jax.signals import nr
from specsense_jax.signals import nr_tdd
from specsense_jax.signals import ofdm

FS = 15.36e6  # the smallest direct-synthesis rate of a 10 MHz carrier at 30 kHz (FFT 512)
# Every slot carries PDSCH over every RB after the CORESET: every downlink symbol carries energy.
FULL = dict(prb_fraction=(1, 1), slot_fraction=(1, 1), pdsch_period_slots=8)
# Written out again (per slot: downlink symbols at the start of the slot), independent of the module's tables.
EXPECTED_30KHZ = {
    'DDDSU': [14, 14, 14, 10, 0],
    'DDDSU_6_4_4': [14, 14, 14, 6, 0],
    'DDDDDDDSUU': [14] * 7 + [10, 0, 0],
    'DDDSUDDSUU': [14, 14, 14, 10, 0, 14, 14, 10, 0, 0],
    'DSUUU': [14, 10, 0, 0, 0],
}
# pattern1 (1 ms): D, then 10 downlink + 2 flexible + 2 uplink symbols; pattern2 (1 ms): 3 downlink symbols, then U.
CUSTOM = nr_tdd.TddConfig(nr_tdd.TddPattern(periodicity_ms=1, nrof_downlink_slots=1, nrof_downlink_symbols=10,
                                            nrof_uplink_slots=0, nrof_uplink_symbols=2),
                          nr_tdd.TddPattern(periodicity_ms=1, nrof_downlink_slots=0, nrof_downlink_symbols=3,
                                            nrof_uplink_slots=1, nrof_uplink_symbols=0))


def _symbol_energy(iq, sample_rate, num_symbols, scs_khz=30):
  numerology = ofdm.nr_numerology(scs_khz, sample_rate)
  starts = numerology.symbol_starts(num_symbols)
  lengths = numerology.cp_of(num_symbols) + numerology.fft_size
  return np.array([np.sum(np.abs(iq[s:s + n].astype(np.complex128))**2) for s, n in zip(starts, lengths)])


def _expected(per_slot, num_slots):
  counts = np.resize(per_slot, num_slots)
  return np.arange(14)[None, :] < counts[:, None]


@pytest.mark.parametrize('pattern', [*EXPECTED_30KHZ, 'custom'])
def test_exactly_the_downlink_symbols_carry_energy(pattern):
  tdd_pattern = CUSTOM if pattern == 'custom' else pattern
  wave = nr.nr_waveform(10, 30, ncellid=17, seed=3, sample_rate=FS, duration_s=0.01, duplex='tdd',
                        tdd_pattern=tdd_pattern, **FULL)
  energy = _symbol_energy(wave.iq, FS, 280).reshape(20, 14)
  per_slot = [14, 10, 3, 0] if pattern == 'custom' else EXPECTED_30KHZ[pattern]
  expected = _expected(per_slot, 20)
  np.testing.assert_array_equal(energy > 0, expected)
  assert np.all(energy[~expected] == 0)  # uplink, guard and flexible samples are exactly zero
  config = nr_tdd.resolve(tdd_pattern, 30)
  np.testing.assert_array_equal(nr_tdd.downlink_symbols(config, 30, 20), expected)
  assert wave.params['duplex'] == 'tdd' and wave.params['tdd_slots'] == nr_tdd.slot_string(config, 30)


def test_custom_pattern_slots():
  assert nr_tdd.slot_string(CUSTOM, 30) == 'DSSU'
  assert nr_tdd.slot_string(nr_tdd.resolve('DDDSUDDSUU', 30), 30) == 'DDDSUDDSUU'
  assert nr_tdd.slot_string(nr_tdd.resolve('DDDSU', 15), 15) == 'DDDSU'  # 5 ms at 15 kHz
  config = nr_tdd.resolve('DDDSU', 30)
  assert config.pattern1 == nr_tdd.TddPattern(2.5, 3, 10, 1, 2) and config.pattern2 is None


def test_ssb_blocks_only_in_downlink_symbols():
  # Case B, L = 8: blocks in slots 0..3; DSUUU keeps those of slot 0 and the first 10 symbols of slot 1.
  kwargs = dict(ncellid=5, seed=1, duration_s=0.02, ssb_num_blocks=8, ssb_case='B')
  fdd = nr.nr_source(10, 30, **kwargs)
  for pattern in ('DDDSU', 'DSUUU', 'DDDSU_6_4_4'):
    tdd = nr.nr_source(10, 30, duplex='tdd', tdd_pattern=pattern, **kwargs)
    downlink = nr_tdd.downlink_symbols(nr_tdd.resolve(pattern, 30), 30, 40).reshape(-1)
    kept = [l0 for l0 in fdd.ssb_symbols if downlink[l0:l0 + 4].all()]
    assert list(tdd.ssb_symbols) == kept and kept
    if pattern == 'DDDSU':
      assert kept == list(fdd.ssb_symbols)
    grid = tdd.grid()
    for l0 in kept:
      np.testing.assert_array_equal(grid[l0:l0 + 4], fdd.grid()[l0:l0 + 4] * downlink[l0:l0 + 4, None])
  assert len(nr.nr_source(10, 30, duplex='tdd', tdd_pattern='DSUUU', **kwargs).ssb_symbols) < len(fdd.ssb_symbols)


def test_15khz_preset_and_activity_map():
  source = nr.nr_source(5, 15, ncellid=2, seed=4, duration_s=0.01, duplex='tdd', tdd_pattern='DDDDDDDSUU', **FULL)
  expected = _expected([14] * 7 + [10, 0, 0], 10).reshape(-1)
  grid = source.grid()
  np.testing.assert_array_equal(np.abs(grid).sum(axis=1) > 0, expected)
  np.testing.assert_array_equal(source.activity(), grid != 0)


def test_rendering_chosen_samples_equals_whole_tdd_waveform():
  source = nr.nr_source(10, 30, ncellid=77, seed=9, duration_s=0.01, duplex='tdd', tdd_pattern='DDDSUDDSUU')
  n = int(0.01 * FS)
  whole = source.waveform(FS, n).iq
  indices = np.sort(np.random.default_rng(0).choice(n, 5000, replace=False))
  np.testing.assert_array_equal(source.render(FS, n, indices), whole[indices])


def test_fdd_default_is_unchanged():
  default = nr.nr_waveform(10, 30, ncellid=123, seed=5, sample_rate=FS, duration_s=0.01)
  explicit = nr.nr_waveform(10, 30, ncellid=123, seed=5, sample_rate=FS, duration_s=0.01, duplex='fdd',
                            tdd_pattern='DSUUU')
  assert default.iq.tobytes() == explicit.iq.tobytes() and 'duplex' not in default.params
  # sha256 of samples + occupancy and of an activity map, taken before TDD existed (the samples since the PBCH
  # carries the coded MIB: only the PBCH REs changed, checked against the previous generator).
  digest = hashlib.sha256(default.iq.tobytes() + default.occupancy.tobytes()).hexdigest()
  assert digest.startswith('b62b6fe7e69735c717773bd088539ad3')
  active = nr.nr_source(10, 30, ncellid=3, seed=1, duration_s=0.01).activity()
  assert hashlib.sha256(active.tobytes()).hexdigest().startswith('21304edd2ab03f2a9ab724e17b14a26c')


def _pattern(**kwargs):
  fields = dict(periodicity_ms=2.5, nrof_downlink_slots=3, nrof_downlink_symbols=10, nrof_uplink_slots=1,
                nrof_uplink_symbols=2)
  return nr_tdd.TddPattern(**{**fields, **kwargs})


@pytest.mark.parametrize('scs, tdd_pattern, match', [
    (30, _pattern(periodicity_ms=7), r'pattern1.periodicity_ms must be one of \(0.5, 0.625, 1, 1.25, 2, 2.5, 3, 4'),
    (30, _pattern(periodicity_ms=3), r'periodicity_ms=3 must divide 20 ms without a pattern2'),
    (30, _pattern(periodicity_ms=0.625), r'does not hold a whole number of 30 kHz slots; allowed .*\[0.5, 1, 2'),
    (30, _pattern(periodicity_ms=1.25), 'periodicity_ms=1.25'),
    (15, _pattern(), r'periodicity_ms=2.5 does not hold a whole number of 15 kHz slots'),
    (15, 'DDDSU_6_4_4', None),
    (30, _pattern(nrof_downlink_slots=6), r'nrof_downlink_slots must be an int in \[0, 5\]'),
    (30, _pattern(nrof_uplink_symbols=14), r'nrof_uplink_symbols must be an int in \[0, 13\]'),
    (30, _pattern(nrof_downlink_slots=4), 'exceed the 70 symbols'),
    (30, nr_tdd.TddConfig(_pattern(), _pattern(periodicity_ms=5)), 'must divide 20 ms'),
    (30, 'DDDSUU', r'tdd_pattern must be .* one of \[.*DDDSU'),
    (30, 'DDDSU_6_4_3', 'must sum to 14'),
])
def test_bad_tdd_pattern_names_the_parameter(scs, tdd_pattern, match):
  if match is None:  # valid: the 6:4:4 split works at 15 kHz too
    assert nr_tdd.slot_string(nr_tdd.resolve(tdd_pattern, scs), scs) == 'DDDSU'
    return
  with pytest.raises(ValueError, match=match):
    nr.nr_source(10 if scs == 30 else 5, scs, ncellid=0, seed=0, duration_s=0.001, duplex='tdd',
                 tdd_pattern=tdd_pattern)


def test_bad_duplex_names_the_parameter():
  with pytest.raises(ValueError, match=r"duplex must be one of \('fdd', 'tdd'\)"):
    nr.nr_waveform(10, 30, ncellid=0, seed=0, sample_rate=FS, duration_s=0.001, duplex='TDD')
  with pytest.raises(ValueError, match='tdd_pattern must be'):  # checked in FDD too
    nr.nr_waveform(10, 30, ncellid=0, seed=0, sample_rate=FS, duration_s=0.001, tdd_pattern='DDSU')
