"""802.11 traffic as a baseband waveform: `wlan_waveform`, beside `nr_waveform` and `lte_waveform`.

A channel's traffic is a sequence of TXOP bursts (one to four data PPDUs of the chosen format, each answered a
SIFS later by an Ack or BlockAck from the peer in non-HT (duplicate) PPDUs), separated by DIFS, a random backoff
and an idle time drawn so that the busy share is the drawn duty cycle; the AP's beacon (non-HT, 6 Mb/s, in the
primary 20 MHz) comes every 102.4 ms and defers to a burst on the air. Each PPDU passes through its own static
multipath channel (indoor Doppler is a few Hz: a PPDU sees one realization), then a transmit filter that meets
the format's spectrum mask while it is resampled to `sample_rate` (one FFT pass). Every PPDU is annotated
SigMF-style.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from specsense_jax import portable_math
from specsense_jax.signals import channel as channel_lib
from specsense_jax.signals import polyphase
from specsense_jax.signals import waveform as waveform_lib
from specsense_jax.signals import wlan_fields
from specsense_jax.signals import wlan_ppdu

LABEL = 'WLAN'
# The TGn channel models' rms delay spreads (IEEE 802.11-03/940r4 Table 1; TGax reuses them, 11-14/0882r4).
# Each is realized as TR 38.901 TDL-C (NLOS) scaled to that spread: a documented TDL equivalent of the
# cluster models, whose Rayleigh taps are drawn once per PPDU.
CHANNEL_DELAY_SPREADS_S = {'B': 15e-9, 'C': 30e-9, 'D': 50e-9, 'E': 100e-9}
SIFS_US, SLOT_US = 16.0, 9.0  # §17.4.4 Table 17-21 (5 GHz OFDM PHY)
DIFS_US = SIFS_US + 2 * SLOT_US
CW_MIN = 15
BEACON_INTERVAL_US = 102400.0  # 100 TU
DUTY_RANGE = (0.01, 0.9)
TRAFFIC_MODELS = ('bss', 'matlab')
_ACK_BYTES = (14, 32)  # Ack, compressed BlockAck
_LOOKBACK_US = 6000.0  # start the traffic before the window so that it can open mid-PPDU


def _matlab_traffic(rng: np.random.Generator, fmt: str, bandwidth_mhz: int, mcs, duration_us: float
                    ) -> list[dict]:
  """The MathWorks 2025 helper's traffic: data PPDUs back to back, each after an idle gap of 0.1, 0.2, ... or
  1.0 ms, none that would run past the frame; no Acks, no beacons."""
  ppdus, t = [], 0.0
  while True:
    t += 100.0 * int(rng.integers(1, 11))
    spec = _spec_draw(rng, fmt, bandwidth_mhz, mcs)
    if t + spec.duration_us > duration_us:
      return ppdus
    ppdus.append(dict(start_us=t, spec=spec, kind='data', power_db=0.0, offset_hz=0.0))
    t += spec.duration_us


def _spec_draw(rng: np.random.Generator, fmt: str, bandwidth_mhz: int, mcs: int | None) -> wlan_ppdu.PpduSpec:
  """A data PPDU: MCS (or rate), guard interval, packet extension and a log-uniform length up to what
  aPPDUMaxTime allows."""
  allowed = wlan_ppdu.valid_mcs(fmt, bandwidth_mhz)
  chosen = mcs if mcs is not None else int(allowed[rng.integers(len(allowed))])
  gis = wlan_ppdu.GUARD_INTERVALS_US[fmt]
  gi = float(gis[rng.integers(len(gis))])
  pe = int(wlan_ppdu.PE_DURATIONS_US[rng.integers(len(wlan_ppdu.PE_DURATIONS_US))]) if fmt == 'he_su' else 0
  probe = wlan_ppdu.PpduSpec(fmt, bandwidth_mhz, chosen, 1, gi, pe)
  room = wlan_ppdu.MAX_TXTIME_US - 4.0 - probe.preamble_us - pe  # 4 µs: TXTIME's short-GI rounding
  max_bits = int(room // probe.symbol_us) * probe.bits_per_symbol - 22
  cap = max(40, min(wlan_ppdu.MAX_LENGTH[fmt], max_bits // 8))
  length = int(round(portable_math.log_uniform(rng, 40, cap)))
  return wlan_ppdu.PpduSpec(fmt, bandwidth_mhz, chosen, length, gi, pe, int(rng.integers(1, 128)))


def _traffic(rng: np.random.Generator, fmt: str, bandwidth_mhz: int, mcs, duty: float, duration_us: float,
             beacons: bool, primary: int) -> list[dict]:
  """The PPDUs on the air: dicts with start_us, spec, kind ('data', 'ack', 'beacon'), power_db, offset_hz."""
  ppdus = []
  primary_offset_hz = (primary - (bandwidth_mhz // 20 - 1) / 2) * 20e6
  t = -_LOOKBACK_US * float(rng.uniform(0, 1))
  prev_end = t
  next_beacon = float(rng.uniform(0, BEACON_INTERVAL_US)) - BEACON_INTERVAL_US / 2
  backoff = lambda: DIFS_US + SLOT_US * int(rng.integers(0, CW_MIN + 1))
  while min(t, next_beacon if beacons else t) < duration_us:
    if beacons and next_beacon <= t:
      spec = wlan_ppdu.PpduSpec('non_ht', 20, 6, int(rng.integers(150, 401)), scrambler_state=int(rng.integers(1, 128)))
      start = max(next_beacon, prev_end + DIFS_US)
      ppdus.append(dict(start_us=start, spec=spec, kind='beacon', power_db=0.0, offset_hz=primary_offset_hz))
      prev_end = start + spec.duration_us
      next_beacon += BEACON_INTERVAL_US
      t = max(t, prev_end + backoff())
      continue
    start = t
    for _ in range(min(int(rng.geometric(0.5)), 4)):  # a TXOP of 1-4 exchanges
      spec = _spec_draw(rng, fmt, bandwidth_mhz, mcs)
      ppdus.append(dict(start_us=t, spec=spec, kind='data', power_db=0.0, offset_hz=0.0))
      t += spec.duration_us + SIFS_US
      # a non-HT (duplicate) PPDU over the whole channel: every width of every format is a non-HT width
      ack = wlan_ppdu.PpduSpec('non_ht', bandwidth_mhz, 24, int(_ACK_BYTES[rng.integers(2)]),
                               scrambler_state=int(rng.integers(1, 128)))
      ppdus.append(dict(start_us=t, spec=ack, kind='ack', power_db=float(rng.uniform(-10.0, 3.0)),
                        offset_hz=0.0))
      t += ack.duration_us + SIFS_US
    prev_end = t - SIFS_US
    busy = prev_end - start
    t = prev_end + backoff() + busy * (1 - duty) / duty * float(rng.exponential())
  return ppdus


_MARGIN_US = 6.0  # zeros around a PPDU before the FFT: the filter's response decays there instead of wrapping


def _transmit_filter(x: np.ndarray, in_rate: float, out_rate: float, edge_hz: float, stop_hz: float
                     ) -> tuple[np.ndarray, int]:
  """The PPDU shaped and resampled in one FFT pass: its spectrum kept flat to the occupied edge, a raised-cosine
  taper to zero where the mask reaches -20 dBr, and the kept bins moved to an output spectrum of the same bin
  spacing at `out_rate`. Returns (samples at `out_rate`, how many precede the PPDU's first sample)."""
  ratio = polyphase.rate_ratio(out_rate, in_rate)
  up, down = ratio.numerator, ratio.denominator
  margin = down * int(np.ceil(_MARGIN_US * 1e-6 * in_rate / down))  # a whole number of output samples too
  n_in = down * int(np.ceil((len(x) + 2 * margin) / down))
  n_out = n_in // down * up
  padded = np.zeros(n_in, np.complex128)
  padded[margin:margin + len(x)] = x
  spectrum = scipy.fft.fft(padded, workers=1)
  f = np.abs(scipy.fft.fftfreq(n_in, 1 / in_rate))
  taper = np.clip((f - edge_hz) / (stop_hz - edge_hz), 0.0, 1.0)
  response = 0.5 + 0.5 * portable_math.cos(np.pi * taper)
  keep = np.flatnonzero(f < stop_hz)
  k = scipy.fft.fftfreq(n_in, 1 / n_in).astype(np.int64)[keep]  # signed bin: the same frequency in the output
  out = np.zeros(n_out, np.complex128)
  scale = n_out / n_in
  out.real[k % n_out] = spectrum.real[keep] * response[keep] * scale  # real products: the same bits on any CPU
  out.imag[k % n_out] = spectrum.imag[keep] * response[keep] * scale
  return scipy.fft.ifft(out, workers=1).astype(np.complex64), margin // down * up


def _render(ppdu: dict, rng: np.random.Generator, sample_rate: float, channel: str | None
            ) -> tuple[np.ndarray, int]:
  """(samples at `sample_rate`, how many of them precede the PPDU's start)."""
  spec = ppdu['spec']
  in_rate = 20e6 * spec.subchannels * wlan_ppdu.OVERSAMPLE
  x = wlan_ppdu.ppdu_samples(spec, rng)
  if channel is not None:
    fading = channel_lib.make_fading('tdl', in_rate, len(x), rng, 0.0, tdl_profile='C',
                                     delay_spread_s=CHANNEL_DELAY_SPREADS_S[channel])
    x = fading.apply(x)
  y, lead = _transmit_filter(x, in_rate, sample_rate, wlan_ppdu.occupied_edge_hz(spec),
                             wlan_ppdu.mask_stop_hz(spec.fmt, spec.bandwidth_mhz))
  y = y * np.float32(portable_math.db_to_amplitude(ppdu['power_db']))
  y = channel_lib.frequency_shift(y, ppdu['offset_hz'], sample_rate)
  return y, lead


def wlan_waveform(bandwidth_mhz: int = 20, *, fmt: str = 'he_su', seed, duration_s: float = 0.04,
                  sample_rate: float = 61.44e6, duty: float | None = None, mcs: int | None = None,
                  channel: str | None = 'C', beacons: bool = True, traffic: str = 'bss') -> waveform_lib.Waveform:
  """802.11 traffic on one channel, centred at 0 Hz.

  Args:
    bandwidth_mhz: channel width: 20, 40 or 80 (80 needs a sample rate above 81 MHz).
    fmt: data PPDU format: 'non_ht' (40/80: non-HT duplicate), 'ht', 'vht' or 'he_su'.
    seed: seed of every draw (traffic, MCS, lengths, payloads, channels).
    duration_s: length of the waveform.
    sample_rate: output rate.
    duty: share of the time the channel is busy, in DUTY_RANGE; None draws it log-uniformly there.
    mcs: data MCS (non-HT: the rate in Mb/s); None draws it per PPDU.
    channel: TGn/TGax delay profile 'B'..'E' (see CHANNEL_DELAY_SPREADS_S), or None for none.
    beacons: send the AP's beacon every 102.4 ms.
    traffic: 'bss' (TXOPs with Acks, beacons, the drawn duty) or 'matlab' (the MathWorks 2025 helper's: data PPDUs
      after idle gaps of 0.1-1.0 ms; `duty` and `beacons` unused).

  Returns:
    A `Waveform` labelled 'WLAN': data PPDUs at unit mean power (Acks -10..+3 dB from their own station), one
    `annotations` dict per PPDU within the window over the channel it occupies (the whole channel, as NR and LTE
    labels cover theirs; a beacon its primary 20 MHz), and one occupancy row per PPDU over its occupied tones;
    `params['ppdus']` lists each PPDU's draws (format, MCS or rate, length, GI, packet extension).
  """
  if traffic not in TRAFFIC_MODELS:
    raise ValueError(f'traffic must be one of {TRAFFIC_MODELS}, got {traffic!r}')
  if fmt not in wlan_fields.FORMATS:
    raise ValueError(f'fmt must be one of {wlan_fields.FORMATS}, got {fmt!r}')
  if bandwidth_mhz not in wlan_fields.BANDWIDTHS_MHZ[fmt]:
    raise ValueError(f'bandwidth_mhz for {fmt} must be one of {wlan_fields.BANDWIDTHS_MHZ[fmt]}, '
                     f'got {bandwidth_mhz!r}')
  if channel is not None and channel not in CHANNEL_DELAY_SPREADS_S:
    raise ValueError(f'channel must be None or one of {sorted(CHANNEL_DELAY_SPREADS_S)}, got {channel!r}')
  sample_rate = waveform_lib.check_positive('sample_rate', sample_rate)
  duration_s = waveform_lib.check_positive('duration_s', duration_s)
  mask_edge = wlan_ppdu.mask_stop_hz(fmt, bandwidth_mhz)
  if sample_rate <= 2 * mask_edge:
    raise ValueError(f'a {bandwidth_mhz} MHz {fmt} channel needs sample_rate above {2 * mask_edge / 1e6:g} MHz '
                     f'(its mask reaches -20 dBr at ±{mask_edge / 1e6:g} MHz), got {sample_rate / 1e6:g} MHz')
  ss = waveform_lib.seed_sequence(seed)
  traffic_ss, payload_ss = ss.spawn(2)
  rng = np.random.default_rng(traffic_ss)
  if duty is None:
    duty = portable_math.log_uniform(rng, *DUTY_RANGE)
  elif not DUTY_RANGE[0] <= float(duty) <= DUTY_RANGE[1]:
    raise ValueError(f'duty must be in {DUTY_RANGE}, got {duty!r}')
  primary = int(rng.integers(bandwidth_mhz // 20))
  num_samples = int(round(duration_s * sample_rate))
  if traffic == 'matlab':
    ppdus = _matlab_traffic(rng, fmt, bandwidth_mhz, mcs, duration_s * 1e6)
  else:
    ppdus = _traffic(rng, fmt, bandwidth_mhz, mcs, float(duty), duration_s * 1e6, beacons, primary)
  iq = np.zeros(num_samples, np.complex64)
  annotations, occupancy, kept = [], [], []
  for ppdu, ppdu_ss in zip(ppdus, payload_ss.spawn(len(ppdus))):
    spec = ppdu['spec']
    start = int(round(ppdu['start_us'] * 1e-6 * sample_rate))
    count = int(round(spec.duration_us * 1e-6 * sample_rate))
    first, last = max(start, 0), min(start + count, num_samples)
    if last <= first:
      continue
    y, lead = _render(ppdu, np.random.default_rng(ppdu_ss), sample_rate, channel)
    lo, hi = max(start - lead, 0), min(start - lead + len(y), num_samples)
    iq[lo:hi] += y[lo - (start - lead):hi - (start - lead)]
    edge = wlan_ppdu.occupied_edge_hz(spec)
    band = (ppdu['offset_hz'] - edge, ppdu['offset_hz'] + edge)
    half = spec.bandwidth_mhz * 1e6 / 2
    lsig_rate, lsig_length = spec.lsig
    annotations.append({
        'sample_start': first, 'sample_count': last - first, 'freq_lower_edge': ppdu['offset_hz'] - half,
        'freq_upper_edge': ppdu['offset_hz'] + half, 'label': LABEL, 'specsense:occupied_hz': 2 * edge,
        'specsense:kind': ppdu['kind'], 'specsense:format': spec.fmt,
        'specsense:bandwidth_mhz': spec.bandwidth_mhz, 'specsense:mcs': spec.mcs, 'specsense:length': spec.length,
        'specsense:gi_us': spec.gi_us, 'specsense:lsig_rate': lsig_rate, 'specsense:lsig_length': lsig_length,
        'specsense:ppdu_start': start, 'specsense:ppdu_samples': count, 'specsense:power_db': ppdu['power_db']})
    occupancy.append([first, last - first, band[0], band[1]])
    kept.append(ppdu)
  params = {'kind': 'wlan', 'format': fmt, 'bandwidth_mhz': bandwidth_mhz, 'traffic': traffic, 'duty': float(duty),
            'ppdus': [{'kind': p['kind'], 'start': a['specsense:ppdu_start'], 'format': p['spec'].fmt,
                       'bandwidth_mhz': p['spec'].bandwidth_mhz, 'mcs': p['spec'].mcs, 'length': p['spec'].length,
                       'gi_us': p['spec'].gi_us, 'pe_us': p['spec'].pe_us}
                      for p, a in zip(kept, annotations)],
            'primary_subchannel': primary, 'channel': channel, 'num_ppdus': len(kept),
            'busy_share': float(sum(a['sample_count'] for a in annotations if a['specsense:kind'] != 'beacon')
                                / num_samples)}
  return waveform_lib.Waveform(iq=iq, sample_rate=sample_rate, bandwidth_hz=bandwidth_mhz * 1e6, label=LABEL,
                               occupancy=np.asarray(occupancy, np.float64).reshape(-1, 4), params=params,
                               annotations=annotations)
