"""802.11 waveforms checked by an independent receiver (L-STF autocorrelation, L-LTF timing, L-SIG decoding), the
transmit spectrum masks, the standard's field tables and the traffic model."""

import numpy as np
import pytest
import scipy.signal

from specsense_jax.signals import wlan_fields
from specsense_jax.signals import wlan_ppdu
from specsense_jax.signals import wlan_scan
from specsense_jax.signals.wlan import wlan_waveform


def _noisy(iq, snr_db, seed=0):
  rng = np.random.default_rng(seed)
  noise = (rng.standard_normal(len(iq)) + 1j * rng.standard_normal(len(iq))) * np.sqrt(10 ** (-snr_db / 10) / 2)
  return (iq + noise).astype(np.complex64)


def _primary_offset(w):
  return (w.params['primary_subchannel'] - (w.params['bandwidth_mhz'] // 20 - 1) / 2) * 20e6


@pytest.mark.parametrize('fmt,bandwidth_mhz,sample_rate', [
    ('non_ht', 20, 61.44e6), ('ht', 40, 61.44e6), ('vht', 80, 122.88e6), ('he_su', 20, 61.44e6),
    ('he_su', 40, 61.44e6)])
def test_every_ppdu_is_found_at_its_time_with_its_lsig(fmt, bandwidth_mhz, sample_rate):
  w = wlan_waveform(bandwidth_mhz, fmt=fmt, seed=11, duration_s=0.02, sample_rate=sample_rate, duty=0.6,
                    channel=None)
  found = wlan_scan.detect_packets(_noisy(w.iq, 25), sample_rate, _primary_offset(w))
  # PPDUs whose legacy preamble and L-SIG lie inside the window are all found, at their start (±3 samples),
  # with their L-SIG; nothing else is.
  whole = [a for a in w.annotations if a['specsense:ppdu_start'] >= 0
           and a['specsense:ppdu_start'] + 24e-6 * sample_rate < len(w.iq)]
  assert len(whole) >= 10 and len(found) == len(whole)
  for ann, det in zip(whole, found):
    assert abs(det.start - ann['specsense:ppdu_start']) <= 3
    assert (det.rate_mbps, det.length) == (ann['specsense:lsig_rate'], ann['specsense:lsig_length'])
    spec_us = ann['specsense:ppdu_samples'] / sample_rate * 1e6
    assert -1e6 / sample_rate <= det.duration_us - spec_us < 4.0  # L-SIG's duration: TXTIME to whole 4 µs
    if ann['specsense:format'] == 'he_su':
      assert det.length % 3 == 1  # Equation 27-11, m = 2: how receivers tell HE SU from the others


def test_ppdus_through_tgn_channels_are_still_read():
  w = wlan_waveform(20, fmt='he_su', seed=3, duration_s=0.02, duty=0.6, channel='D')
  found = wlan_scan.detect_packets(_noisy(w.iq, 25), w.sample_rate)
  starts = {a['specsense:ppdu_start']: a for a in w.annotations if a['specsense:ppdu_start'] >= 0}
  matched = [d for d in found if any(abs(d.start - s) <= 8 and (d.rate_mbps, d.length) == (
      a['specsense:lsig_rate'], a['specsense:lsig_length']) for s, a in starts.items())]
  assert len(matched) == len(found) and len(matched) >= 0.9 * len(starts)


def _psd_dbr(w):
  f, psd = scipy.signal.welch(w.iq, w.sample_rate, nperseg=2048, return_onesided=False, scaling='density')
  order = np.argsort(f)
  return f[order], 10 * np.log10(psd[order] / psd.max())


@pytest.mark.parametrize('fmt,bandwidth_mhz', [('non_ht', 20), ('ht', 20), ('he_su', 20), ('vht', 40),
                                               ('he_su', 40)])
def test_spectrum_meets_the_transmit_mask_and_fills_the_channel(fmt, bandwidth_mhz):
  w = wlan_waveform(bandwidth_mhz, fmt=fmt, seed=5, duration_s=0.01, duty=0.9, channel=None, beacons=False)
  f, dbr = _psd_dbr(w)
  family = 'he' if fmt == 'he_su' else 'legacy'
  points = wlan_ppdu.SPECTRUM_MASKS[(family, bandwidth_mhz)]
  mask = np.interp(np.abs(f), [p[0] * 1e6 for p in points], [p[1] for p in points], left=0.0, right=-40.0)
  outside = np.abs(f) >= points[1][0] * 1e6
  assert np.all(dbr[outside] <= mask[outside])
  # Occupied: 99 % of the power within the data tones' extent; the edge tones carry power (a full RU).
  spec = wlan_ppdu.PpduSpec(fmt, bandwidth_mhz, 0 if fmt != 'non_ht' else 6, 100)
  edge = wlan_ppdu.occupied_edge_hz(spec)
  power = 10 ** (dbr / 10)
  inside = np.abs(f) <= edge * 1.01
  assert power[inside].sum() >= 0.99 * power.sum()
  near_edge = (np.abs(f) > edge - 0.5e6) & (np.abs(f) < edge - 0.2e6)
  assert np.all(dbr[near_edge] > -6)


def test_tone_counts_and_tables_are_the_standards():
  # Data/pilot tones: non-HT 48+4, HT/VHT 52+4, 108+6, 234+8; HE 234+8, 468+16, 980+16 (Tables 19-6, 21-5, 27-7).
  assert wlan_fields.legacy_tonemap().num_data == 48
  assert [(wlan_fields.vht_tonemap(n).num_data, len(wlan_fields.vht_tonemap(n).pilots)) for n in (1, 2, 4)] == [
      (52, 4), (108, 6), (234, 8)]
  assert [(wlan_fields.he_tonemap(n).num_data, len(wlan_fields.he_tonemap(n).pilots)) for n in (1, 2, 4)] == [
      (234, 8), (468, 16), (980, 16)]
  for n, edge, dc in ((1, 122, 1), (2, 244, 2), (4, 500, 2)):
    ru = {k for k in range(-edge, edge + 1) if abs(k) > dc}
    tones_4x, values_4x = wlan_fields.he_ltf(n, 4)
    tones_2x, values_2x = wlan_fields.he_ltf(n, 2)
    assert set(tones_4x) == ru and set(np.abs(values_4x)) == {1.0}
    assert set(tones_2x) == {k for k in ru if k % 2 == 0} and set(np.abs(values_2x)) == {1.0}
    assert set(wlan_fields.he_tonemap(n).data) | set(wlan_fields.he_tonemap(n).pilots) == ru
  # L-STF: 12 tones per 20 MHz of power 13/6·2, i.e. the 52-tone power; γ rotates the upper 20 MHz by j at 40.
  tones, values = wlan_fields.lstf(2)
  assert len(tones) == 24 and np.isclose(np.sum(np.abs(values) ** 2), 2 * 52)
  assert np.allclose(values[tones > 0] / values[tones < 0], 1j)


def test_lsig_length_marks_the_format_and_txtime():
  # HT/VHT: LENGTH = ⌈(TXTIME - 20)/4⌉·3 - 3 (mod 3 = 0); HE SU: mod 3 = 1; non-HT: the PSDU length.
  ht = wlan_ppdu.PpduSpec('ht', 20, 7, 1000, 0.4)
  assert ht.lsig[1] % 3 == 0 and (ht.lsig[1] + 3) / 3 * 4 + 20 == ht.txtime_us
  he = wlan_ppdu.PpduSpec('he_su', 40, 9, 3000, 3.2, 8)
  assert he.lsig[1] % 3 == 1
  assert wlan_ppdu.PpduSpec('non_ht', 20, 54, 1500).lsig == (54, 1500)
  # 1500 bytes at 54 Mb/s: ⌈(16 + 12000 + 6)/216⌉ = 56 symbols: 20 + 224 µs.
  assert wlan_ppdu.PpduSpec('non_ht', 20, 54, 1500).duration_us == 244.0


def test_traffic_has_beacons_every_102_4_ms_and_the_drawn_duty():
  w = wlan_waveform(20, fmt='vht', seed=4, duration_s=0.25, duty=0.01, channel=None)
  beacons = [a['specsense:ppdu_start'] / w.sample_rate for a in w.annotations if a['specsense:kind'] == 'beacon']
  assert len(beacons) in (2, 3)
  gaps = np.diff(beacons)
  assert np.all((gaps > 0.1024 - 1e-3) & (gaps < 0.1024 + 6e-3))  # deferred at most one PPDU
  busy = wlan_waveform(20, fmt='vht', seed=4, duration_s=0.04, duty=0.9, channel=None, beacons=False)
  assert busy.params['busy_share'] > 0.6
  kinds = {a['specsense:kind'] for a in busy.annotations}
  assert kinds == {'data', 'ack'}
  for a in busy.annotations:  # every Ack follows its data PPDU after a SIFS
    if a['specsense:kind'] == 'ack':
      before = [b for b in busy.annotations if b['specsense:ppdu_start'] + b['specsense:ppdu_samples']
                <= a['specsense:ppdu_start']][-1]
      gap = (a['specsense:ppdu_start'] - before['specsense:ppdu_start'] - before['specsense:ppdu_samples'])
      assert abs(gap / busy.sample_rate - 16e-6) < 0.1e-6


def test_same_seed_same_bytes_and_annotations_cover_the_samples():
  a = wlan_waveform(40, fmt='he_su', seed=9, duration_s=0.005, duty=0.5)
  b = wlan_waveform(40, fmt='he_su', seed=9, duration_s=0.005, duty=0.5)
  assert a.iq.tobytes() == b.iq.tobytes() and a.annotations == b.annotations
  assert wlan_waveform(40, fmt='he_su', seed=10, duration_s=0.005, duty=0.5).iq.tobytes() != a.iq.tobytes()
  covered = np.zeros(len(a.iq), bool)
  for ann in a.annotations:
    covered[ann['sample_start']:ann['sample_start'] + ann['sample_count']] = True
  power = np.abs(a.iq) ** 2
  assert power.sum() > 0 and power[~covered].sum() < 1e-3 * power.sum()  # filter tails only outside the PPDUs


@pytest.mark.parametrize('kwargs,message', [
    ({'fmt': 'ax'}, r"fmt must be one of \('non_ht', 'ht', 'vht', 'he_su'\)"),
    ({'fmt': 'ht', 'bandwidth_mhz': 80}, r'bandwidth_mhz for ht must be one of \(20, 40\)'),
    ({'bandwidth_mhz': 80}, r'needs sample_rate above 81 MHz'),
    ({'duty': 0.95}, r'duty must be in \(0.01, 0.9\)'),
    ({'channel': 'F'}, r"channel must be None or one of \['B', 'C', 'D', 'E'\]"),
])
def test_bad_arguments_are_named(kwargs, message):
  with pytest.raises(ValueError, match=message):
    wlan_waveform(kwargs.pop('bandwidth_mhz', 20), seed=0, duration_s=0.001, **kwargs)


def test_bad_ppdu_specs_are_named():
  with pytest.raises(ValueError, match='VHT MCS 9 is not valid at 20 MHz'):
    wlan_ppdu.PpduSpec('vht', 20, 9, 100)
  assert wlan_ppdu.PpduSpec('non_ht', 20, 6, 4095).txtime_us == 5484.0  # the longest non-HT PPDU: exactly
  with pytest.raises(ValueError, match='over aPPDUMaxTime'):
    wlan_ppdu.PpduSpec('ht', 20, 0, 65535)
  with pytest.raises(ValueError, match=r'gi_us for he_su must be one of \(0.8, 1.6, 3.2\)'):
    wlan_ppdu.PpduSpec('he_su', 20, 0, 100, 0.4)
