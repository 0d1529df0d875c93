"""Counter-based random numbers: position-independent, well distributed."""

import numpy as np
import pytest
import scipy.stats

from specsense_jax.signals import counter_rng


def test_values_depend_only_on_key_and_index():
  idx = np.arange(10_000)
  full = counter_rng.complex_normal(7, idx)
  np.testing.assert_array_equal(counter_rng.complex_normal(7, idx[123:456]), full[123:456])
  assert not np.array_equal(counter_rng.complex_normal(8, idx), full)


def test_complex_normal_statistics():
  z = counter_rng.complex_normal(3, np.arange(400_000))
  assert np.mean(np.abs(z) ** 2) == pytest.approx(1.0, abs=0.01)
  assert abs(np.mean(z.real * z.imag)) < 0.01
  assert scipy.stats.kstest(z.real[:50_000] * np.sqrt(2), 'norm').pvalue > 1e-3
  assert np.corrcoef(z.real[:-1], z.real[1:])[0, 1] == pytest.approx(0, abs=0.01)


@pytest.mark.parametrize('modulation,points', [('qpsk', 4), ('64qam', 64), ('256qam', 256)])
def test_qam_uniform_over_constellation(modulation, points):
  symbols = counter_rng.qam(11, np.arange(points * 400), modulation)
  _, counts = np.unique(np.round(symbols, 5), return_counts=True)
  assert len(counts) == points
  assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_integers_in_range():
  values = counter_rng.integers(5, np.arange(10_000), 16)
  assert values.min() == 0 and values.max() == 15
