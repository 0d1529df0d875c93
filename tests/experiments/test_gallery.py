"""The synthesis gallery: one figure per case, the real capture beside the cell configured like it."""

import matplotlib.image
import pytest

from specsense_jax.experiments import gallery


def test_case_figure_has_its_panels(tmp_path, shared_dir):
  with_capture = gallery.render_case('lte_tdd_idle_2ports', str(tmp_path), str(shared_dir / 'realdata/captures'))
  without = gallery.render_case('lte_tdd_idle_2ports', str(tmp_path / 'alone'), None)
  wide, narrow = matplotlib.image.imread(with_capture), matplotlib.image.imread(without)
  # five panels (synthetic and capture in two modes, the labels) against three: 5/3 the width
  assert wide.shape[0] == narrow.shape[0] and wide.shape[1] / narrow.shape[1] == pytest.approx(5 / 3, rel=0.02)


def test_unknown_case_names_the_allowed_ones(tmp_path):
  with pytest.raises(ValueError, match=r"unknown gallery case 'nope'; allowed: \['lte_fdd_4ports_medium'"):
    gallery.render_case('nope', str(tmp_path))
