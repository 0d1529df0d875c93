"""LTE carriers found without being told where: two generated cells in one recording, the real LTE captures (the
catalogue's bands), and an NR capture with none."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import lte_scan

CENTER = 2.6e9  # on the 100 kHz raster
RATE = 30.72e6


def test_two_touching_cells_in_one_recording():
  # 5 MHz at -2.7 MHz (occupied -4.95..-0.45) and 10 MHz at +4.2 MHz (-0.3..+8.7): one band once the 150 kHz gap
  # is bridged, whose midpoint is neither centre; the first is found against the band's edge, the second in what
  # is left
  rng = np.random.default_rng(0)
  n = int(0.025 * RATE)
  iq = np.zeros(n, np.complex64)
  cells = [(5, -2.7e6, 41, 2, dict(duplex='fdd', load='heavy')),
           (10, 4.2e6, 250, 1, dict(duplex='tdd', ul_dl_config=1, special_subframe_config=7, load='heavy'))]
  for i, (bandwidth, offset, ncellid, ports, options) in enumerate(cells):
    wave = lte.lte_waveform(bandwidth, ncellid=ncellid, seed=i, sample_rate=RATE, duration_s=0.025,
                            num_ports=ports, **options)
    x = channel.apply_channel(wave.iq[:n], RATE, seed=i, model='epa', doppler_hz=5, freq_offset_hz=offset + 2e3)
    iq += np.roll(x / np.sqrt(np.mean(np.abs(x) ** 2)), int(rng.integers(n)))  # its own frame timing
  iq += (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64) * np.float32(0.2)
  (band,) = lte_scan.occupied_bands(iq, RATE)
  assert band[0] == pytest.approx(-4.95e6, abs=0.2e6) and band[1] == pytest.approx(8.7e6, abs=0.2e6)
  found = lte_scan.find_lte_carriers(iq, RATE, center_frequency=CENTER)
  assert [(c.centre_offset_hz, c.cell.ncellid, c.n_rb, c.cell.num_ports, c.cell.duplex) for c in found] == [
      (-2.7e6, 41, 25, 2, 'fdd'), (4.2e6, 250, 50, 1, 'tdd')]
  assert found[1].ul_dl_config == 1 and found[0].ul_dl_config is None
  assert 7 in found[1].special_subframe_configs and found[0].special_subframe_configs == ()
  assert found[0].occupied_hz == (-2.7e6 - 2.25e6, -2.7e6 + 2.25e6) and found[1].channel_bandwidth_hz == 10e6
  with pytest.raises(ValueError, match='at least 6 ms'):
    lte_scan.find_lte_carriers(iq[:int(0.005 * RATE)], RATE)


# file, centre (Hz), cell ID, TDD configurations (uplink-downlink, special subframe: 2 and 5 per the power-profile
# match in tests/signals/test_power_profile.py): the catalogue's 20 MHz carriers centred in the capture, occupied
# about -9.0..+9.0 MHz (README of ../shared/realdata)
REAL = [
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 1815.3e6, 300, None),
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin', 1815.3e6, 301, None),  # fills the span: no floor seen
    ('lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 1890e6, 253, (2, 5)),
]


@pytest.mark.parametrize('name,center,ncellid,config', REAL)
def test_real_lte_captures(shared_dir, name, center, ncellid, config):
  raw = np.fromfile(shared_dir / 'realdata/captures' / name, np.int8).astype(np.float32) / 128
  iq = (raw[0::2] + 1j * raw[1::2]).astype(np.complex64)
  (carrier,) = lte_scan.find_lte_carriers(iq, 19.2e6, center_frequency=center)
  assert (carrier.centre_offset_hz, carrier.cell.ncellid) == (0.0, ncellid)
  if config is None:
    assert carrier.ul_dl_config is None and carrier.special_subframe_configs == ()
  else:
    assert carrier.ul_dl_config == config[0] and config[1] in carrier.special_subframe_configs
  assert carrier.occupied_hz == (-9e6, 9e6) and len(carrier.mibs) == 8


def test_nr_capture_has_no_lte(shared_dir):
  iq = np.fromfile(shared_dir / 'realdata/captures/nr_n78_f3502.8MHz_s46.08Msps_cf32.bin', np.complex64)
  assert lte_scan.occupied_bands(iq, 46.08e6)  # the NR bursts are seen, and are not LTE
  assert not lte_scan.find_lte_carriers(iq, 46.08e6, center_frequency=3502.8e6)
