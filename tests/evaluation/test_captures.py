"""The shipped model on the real captures in ../shared (skipped without it): the table covers every capture,
and the LTE FDD capture, which the model gets right, stays right."""

import pytest

from specsense_jax.evaluation import captures
from specsense_jax.io import catalog


def test_real_capture_table(shared_dir, tmp_path):
  rows = captures.evaluate_captures(str(shared_dir / 'realdata' / 'captures'), output_dir=str(tmp_path))
  assert [r['recording'] + '.bin' for r in rows] == [c.file for c in catalog.CAPTURES]
  lte_fdd = rows[0]
  assert lte_fdd['iou_LTE'] > 0.95 and lte_fdd['iou_NR'] is None
  for row in rows:
    assert row['frames'] >= 1 and row['pixels'] > 0
    assert row['mean_iou'] == pytest.approx(  # the mean over the classes scored (in the truth or the prediction)
        sum(s := [v for k, v in row.items() if k.startswith('iou_') and v is not None]) / len(s))
  assert '| lte_fdd_b3_f1815.3MHz_s19.2Msps_int8 | 2 |' in (tmp_path / 'captures.md').read_text()


def test_missing_captures_folder(tmp_path):
  with pytest.raises(ValueError, match='file not found'):
    captures.evaluate_captures(str(tmp_path / 'none'))


def test_table_has_one_iou_column_per_model_class():
  row = {'recording': 'r', 'frames': 2, 'pixels': 10, 'global_accuracy': 0.5, 'mean_iou': 0.25,
         'iou_Noise': 0.5, 'iou_NR': None, 'iou_LTE': 0.0, 'iou_Unknown': 0.5}
  assert captures.markdown_table([row]).splitlines() == [
      '| recording | frames | IoU Noise | IoU NR | IoU LTE | IoU Unknown | mean IoU | pixel accuracy |',
      '|---|---|---|---|---|---|---|---|',
      '| r | 2 | 0.500 | – | 0.000 | 0.500 | 0.250 | 0.500 |']
