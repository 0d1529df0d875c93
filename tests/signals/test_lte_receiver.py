"""LTE cell search: generated FDD/TDD cells through fading, hand-built extended-CP and multi-port frames, and the
real captures, whose cells a brute-force PSS/SSS correlation written here (numpy and `sequences` only) confirms."""

import numpy as np
import pytest

from specsense_jax.signals import channel
from specsense_jax.signals import lte
from specsense_jax.signals import lte_receiver
from specsense_jax.signals import ofdm
from specsense_jax.signals import sequences

# TS 36.211 Table 4.2-2, written out again (subframes 0..9).
TABLE_4_2_2 = ['DSUUUDSUUU', 'DSUUDDSUUD', 'DSUDDDSUDD', 'DSUUUDDDDD', 'DSUUDDDDDD', 'DSUDDDDDDD', 'DSUUUDSUUD']
CFO_GRID = np.arange(-10e3, 10e3 + 1, 2.5e3)  # the drawn offsets are within ±7 kHz


def _received(bandwidth, sample_rate, seed, snr_db, duration_s=0.02, **kwargs):
  """A generated cell (random ID) through ETU fading at 70 Hz Doppler, with a random frame offset and CFO.

  Returns:
    (iq, ncellid, frame start sample, CFO in Hz).
  """
  rng = np.random.default_rng(seed)
  ncellid = int(rng.integers(504))
  shift = int(rng.integers(int(sample_rate * 0.01)))
  cfo = float(rng.uniform(-7e3, 7e3))
  wave = lte.lte_waveform(bandwidth, ncellid=ncellid, seed=seed, sample_rate=sample_rate, duration_s=duration_s,
                          **kwargs)
  iq = channel.apply_channel(wave.iq, sample_rate, seed=seed, model='etu', doppler_hz=70, snr_db=snr_db,
                             freq_offset_hz=cfo, time_shift_samples=shift)  # whole frames: the roll keeps timing
  return iq, ncellid, shift, cfo


def _frame_error(found, expected, sample_rate):
  frame = int(round(sample_rate * 0.01))
  return (found - expected + frame // 2) % frame - frame // 2


def _check(cell, ncellid, duplex, frame_start, cfo, sample_rate, cp='normal'):
  assert (cell.ncellid, cell.n_id1, cell.n_id2) == (ncellid, ncellid // 3, ncellid % 3)
  assert (cell.duplex, cell.cp) == (duplex, cp)
  cp_samples = sample_rate * (144 if cp == 'normal' else 512) / 30.72e6  # TS 36.211 Table 6.12-1
  assert abs(_frame_error(cell.frame_start, frame_start, sample_rate)) <= cp_samples
  assert abs(cell.cfo_hz - cfo) < 200  # measured: within 70 Hz over the 0..20 dB sweep
  assert 0 <= cell.pss_metric <= 1 and 0 < cell.sss_metric <= 1


# (bandwidth MHz, sample rate, SNR dB, duplex options); a sample of the sweep below.
CASES = [
    (1.4, 1.92e6, 0, dict(duplex='fdd')),
    (5, 7.68e6, 10, dict(duplex='fdd')),
    (3, 3.84e6, 20, dict(duplex='fdd', load='full')),
    (3, 3.84e6, 0, dict(duplex='tdd', ul_dl_config=0, special_subframe_config=0)),
    (5, 7.68e6, 10, dict(duplex='tdd', ul_dl_config=2, special_subframe_config=5)),
    (1.4, 1.92e6, 20, dict(duplex='tdd', ul_dl_config=5, special_subframe_config=9)),
    (1.4, 1.92e6, 0, dict(duplex='tdd', ul_dl_config=2, special_subframe_config=7)),
    (1.4, 3.84e6, 10, dict(duplex='tdd', ul_dl_config=0, special_subframe_config=4)),
]


@pytest.mark.parametrize('index', range(len(CASES)))
def test_generated_cells_through_fading(index):
  bandwidth, fs, snr, kwargs = CASES[index]
  iq, ncellid, frame_start, cfo = _received(bandwidth, fs, 100 + index, snr, **kwargs)
  cell = lte_receiver.detect_lte_cell(iq, fs, cfo_search_hz=CFO_GRID)
  _check(cell, ncellid, kwargs['duplex'], frame_start, cfo, fs)
  assert cell.num_ports == 1  # the generator sends port 0 only


@pytest.mark.slow
@pytest.mark.parametrize('ul_dl_config', range(7))
def test_every_tdd_configuration(ul_dl_config):
  for special in range(10):  # all 70 pairs, SNR 0, 10, 20 dB in turn (about 0.1 s each)
    seed = 1000 + 10 * ul_dl_config + special
    iq, ncellid, frame_start, cfo = _received(1.4, 1.92e6, seed, (0, 10, 20)[seed % 3], duplex='tdd',
                                              ul_dl_config=ul_dl_config, special_subframe_config=special)
    _check(lte_receiver.detect_lte_cell(iq, 1.92e6, cfo_search_hz=CFO_GRID), ncellid, 'tdd', frame_start, cfo,
           1.92e6)


# --- Hand-built frames: extended CP and more antenna ports -----------------------------------------------------

def _ofdm(grid, cp_lengths, fft_size=128):
  """OFDM at 1.92 Msps of a (symbols, 72) grid, with the given CP length for each symbol (LTE DC skip)."""
  spectrum = np.zeros((len(grid), fft_size), np.complex64)
  spectrum[:, ofdm.subcarrier_bins(72, ofdm.lte_numerology(1.92e6))] = grid
  symbols = np.fft.ifft(spectrum, axis=1) * np.sqrt(fft_size / 72)
  return np.concatenate([np.concatenate([s[fft_size - cp:], s]) for s, cp in zip(symbols, cp_lengths)])


@pytest.mark.parametrize('duplex', ['fdd', 'tdd'])
def test_extended_cp_frames(duplex):
  # 6 RB, 12 symbols a subframe, CP 512 T_s = 32 samples at 1.92 Msps (TS 36.211 Table 6.12-2). FDD: PSS in the
  # last symbol of slots 0 and 10, SSS just before; TDD: PSS in symbol 2 of subframes 1 and 6, SSS in the last
  # symbol of subframes 0 and 5 (TS 36.211 §6.11.1.2, §6.11.2.2). Everything else random QPSK.
  ncellid, subframes = 431, 20
  rng = np.random.default_rng(7)
  grid = sequences.random_qam(rng, (12 * subframes, 72)).reshape(subframes, 12, 72)
  pss_symbol, sss_symbol, pss_subframes = (5, 4, (0, 5)) if duplex == 'fdd' else (2, 11, (1, 6))
  for sf in range(subframes):
    if sf % 5 == pss_subframes[0] % 5:
      grid[sf, pss_symbol] = 0
      grid[sf, pss_symbol, 5:67] = sequences.lte_pss(ncellid % 3)
    if sf % 5 == 0:
      grid[sf, sss_symbol] = 0
      grid[sf, sss_symbol, 5:67] = sequences.lte_sss(ncellid, 0 if sf % 10 == 0 else 5)
  iq = _ofdm(grid.reshape(-1, 72), [32] * 12 * subframes)
  assert len(iq) == 1920 * subframes
  iq = channel.apply_channel(iq, 1.92e6, seed=3, model='epa', doppler_hz=5, snr_db=10, freq_offset_hz=1e3,
                             time_shift_samples=5000)
  cell = lte_receiver.detect_lte_cell(iq, 1.92e6, cfo_search_hz=CFO_GRID)
  _check(cell, ncellid, duplex, 5000, 1e3, 1.92e6, cp='extended')


def _port_crs(ncellid, n_rb, port, num_subframes):
  """Grid with only the CRS of antenna port 1, 2 or 3 (TS 36.211 §6.10.1: r_{l,ns}(m') of §6.10.1.1, k = 6m +
  (v + N_ID mod 6) mod 6; port 1: v = 3 in symbol 0, 0 in symbol 4; ports 2, 3: symbol 1, v = 3(ns mod 2) and
  3 + 3(ns mod 2)), normal CP."""
  grid = np.zeros((num_subframes, 2, 7, 12 * n_rb), np.complex64)
  m = np.arange(2 * n_rb)
  for ns in range(2 * num_subframes):
    slot = ns % 20
    symbols = {1: {0: 3, 4: 0}, 2: {1: 3 * (slot % 2)}, 3: {1: 3 + 3 * (slot % 2)}}[port]
    for l, v in symbols.items():
      c_init = 2**10 * (7 * (slot + 1) + l + 1) * (2 * ncellid + 1) + 2 * ncellid + 1
      r = sequences.qpsk_from_bits(sequences.gold_sequence(c_init, 4 * 110))
      grid[ns // 2, ns % 2, l, 6 * m + (v + ncellid % 6) % 6] = r[m + 110 - n_rb]
  return grid.reshape(14 * num_subframes, 12 * n_rb)


@pytest.mark.parametrize('num_ports', [1, 2, 4])
def test_crs_ports_through_separate_channels(num_ports):
  # Port 0 from the generator without PDSCH (CFI 1 leaves symbol 1 free for ports 2/3); each further port adds
  # its CRS, placed here from the standard, through its own fading channel.
  ncellid, fs, subframes = 77, 1.92e6, 20
  numerology = ofdm.lte_numerology(fs)
  port0 = lte.lte_grid(ncellid, 6, subframes, seed=1, cfi=1)
  grids = [port0] + [_port_crs(ncellid, 6, p, subframes) for p in range(1, num_ports)]
  iq = sum(channel.apply_channel(ofdm.modulate(g, numerology), fs, seed=p, model='epa', doppler_hz=5)
           for p, g in enumerate(grids))
  iq = channel.add_awgn(iq, 10, np.random.default_rng(0))
  cell = lte_receiver.detect_lte_cell(iq, fs, cfo_search_hz=[0.0])
  assert cell.ncellid == ncellid and cell.num_ports == num_ports


@pytest.mark.parametrize('num_ports', [1, 2, 4])
@pytest.mark.parametrize('bandwidth,fs,snr,kwargs', [(5, 7.68e6, 10, dict(duplex='fdd', load='idle')),
                                                     (1.4, 1.92e6, 0, dict(duplex='tdd', load='heavy'))])
def test_generated_multi_port_cells(num_ports, bandwidth, fs, snr, kwargs):
  # The generator's ports summed into one antenna (one channel): ID and port count through ETU fading.
  iq, ncellid, frame_start, cfo = _received(bandwidth, fs, 200 + num_ports, snr, num_ports=num_ports, **kwargs)
  cell = lte_receiver.detect_lte_cell(iq, fs, cfo_search_hz=CFO_GRID)
  _check(cell, ncellid, kwargs['duplex'], frame_start, cfo, fs)
  assert cell.num_ports == num_ports


def test_any_sample_rate_off_centre_carrier_and_dc_spur():
  # 5 MHz carrier 2 MHz above the centre of a 10 Msps capture (resampled by 24/125), a DC spur 10 dB above it.
  fs, offset = 10e6, 2e6
  iq, ncellid, frame_start, cfo = _received(5, fs, 5, 10)
  iq = channel.frequency_shift(iq, offset, fs)
  iq = iq + np.sqrt(10 * np.mean(np.abs(iq) ** 2)) * np.exp(0.3j)
  cell = lte_receiver.detect_lte_cell(iq, fs, centre_offset_hz=offset)
  _check(cell, ncellid, 'fdd', frame_start, cfo, fs)


@pytest.mark.parametrize('ul_dl_config', range(7))
def test_ul_dl_configuration_from_subframe_energy(ul_dl_config):
  wave = lte.lte_waveform(1.4, ncellid=5, seed=ul_dl_config, sample_rate=1.92e6, duration_s=0.02, load='full',
                          duplex='tdd', ul_dl_config=ul_dl_config, special_subframe_config=4)
  iq = channel.apply_channel(wave.iq, 1.92e6, seed=0, snr_db=20, time_shift_samples=777)
  cell = lte_receiver.detect_lte_cell(iq, 1.92e6, cfo_search_hz=[0.0])
  power = lte_receiver.tdd_subframe_energy(iq, 1.92e6, cell.frame_start)
  config, margin = lte_receiver.guess_ul_dl_config(power)
  assert config == ul_dl_config and margin > 10
  uplink = np.array([kind == 'U' for kind in TABLE_4_2_2[ul_dl_config]])
  assert power[uplink].max() < 0.1 * power[~uplink].min()


# TS 36.211 Table 4.2-1, normal CP: DwPTS symbols of special subframe configurations 0..9.
DWPTS_SYMBOLS = [3, 9, 10, 11, 12, 3, 9, 10, 11, 6]


@pytest.mark.parametrize('load', ['full', 'idle'])
def test_dwpts_from_symbol_power(load):
  for special in range(10):
    wave = lte.lte_waveform(1.4, ncellid=5, seed=special, sample_rate=1.92e6, duration_s=0.02, load=load,
                            duplex='tdd', ul_dl_config=1, special_subframe_config=special)
    iq = channel.apply_channel(wave.iq, 1.92e6, seed=0, snr_db=20, time_shift_samples=777)
    count, configs = lte_receiver.guess_dwpts_symbols(iq, 1.92e6, 777)
    assert special in configs and count <= DWPTS_SYMBOLS[special]
    if load == 'full':  # PDSCH in every DwPTS symbol after the control region (none in configurations 0 and 5)
      assert count == DWPTS_SYMBOLS[special]
    if DWPTS_SYMBOLS[special] in (3, 6, 12):  # told apart by the CRS of symbols 4, 7 and 11 alone
      assert {DWPTS_SYMBOLS[c] for c in configs} == {DWPTS_SYMBOLS[special]}


def test_several_cells():
  # Two cells of one site (N_ID1 60, N_ID2 0 and 2), the second 6 dB weaker and 300 samples later.
  fs = 1.92e6
  a = lte.lte_waveform(1.4, ncellid=180, seed=1, sample_rate=fs, duration_s=0.02).iq
  b = lte.lte_waveform(1.4, ncellid=182, seed=2, sample_rate=fs, duration_s=0.02).iq
  iq = channel.add_awgn(a + 0.5 * np.roll(b, 300), 15, np.random.default_rng(0))
  cells = lte_receiver.detect_lte_cells(iq, fs, cfo_search_hz=[0.0], max_cells=2)
  assert [c.ncellid for c in cells] == [180, 182]
  assert [c.frame_start for c in cells] == [0, 300]


def test_bad_arguments():
  iq = np.zeros(38400, np.complex64)
  with pytest.raises(ValueError, match='sample_rate'):
    lte_receiver.detect_lte_cell(iq, 1e6)
  with pytest.raises(ValueError, match='centre_offset_hz'):
    lte_receiver.detect_lte_cell(iq, 1.92e6, centre_offset_hz=0.5e6)
  with pytest.raises(ValueError, match='cfo_search_hz'):
    lte_receiver.detect_lte_cell(iq, 1.92e6, cfo_search_hz=[])
  with pytest.raises(ValueError, match='max_cells'):
    lte_receiver.detect_lte_cells(iq, 1.92e6, max_cells=0)
  with pytest.raises(ValueError, match='iq'):
    lte_receiver.detect_lte_cell(iq[:5000], 1.92e6)
  with pytest.raises(ValueError, match='sample_rate'):
    lte_receiver.detect_lte_cell(iq, float('nan'))
  with pytest.raises(ValueError, match='subframe_power'):
    lte_receiver.guess_ul_dl_config(np.ones(9))
  with pytest.raises(ValueError, match='iq'):
    lte_receiver.tdd_subframe_energy(iq[:1000], 1.92e6, 0)
  with pytest.raises(ValueError, match='iq'):
    lte_receiver.guess_dwpts_symbols(iq[:5000], 1.92e6, 0)
  with pytest.raises(ValueError, match='sample_rate'):
    lte_receiver.guess_dwpts_symbols(iq, -1, 0)


# --- Real captures (README of ../shared/realdata) --------------------------------------------------------------

# file, cell ID, duplex, CFO (Hz) of the capture; checked by `_brute_force_cell` below.
REAL = [
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8.bin', 300, 'fdd', 14.1e3),
    ('lte_fdd_b3_f1815.3MHz_s19.2Msps_int8_take2.bin', 301, 'fdd', 14.3e3),
    ('lte_tdd_b39_f1890MHz_s19.2Msps_int8.bin', 253, 'tdd', 26.3e3),
]
FS_REAL = 19.2e6


def _load_int8(path):
  raw = np.fromfile(path, np.int8).astype(np.float32) / 128
  return (raw[0::2] + 1j * raw[1::2]).astype(np.complex64)


def _brute_force_cell(iq, cfo):
  """Independent check at the capture rate (FFT 1280, CP 100/90 samples): PSS by FFT correlation against the
  three sequences, SSS of both duplex hypotheses by coherent correlation against all 168 x 2 sequences.

  Returns:
    (ncellid, duplex, frame start sample).
  """
  n = 1280
  x = (iq - iq.mean()) * np.exp(-2j * np.pi * cfo / FS_REAL * np.arange(len(iq)))
  bins = np.r_[np.arange(-31, 0), np.arange(1, 32)] % n  # PSS/SSS subcarriers, DC skipped
  head = x[:96000 + 2 * n]  # one half-frame and a bit
  best = None
  for n_id2 in range(3):
    spectrum = np.zeros(n, complex)
    spectrum[bins] = sequences.lte_pss(n_id2)
    replica = np.fft.ifft(spectrum)
    corr = np.abs(np.fft.ifft(np.fft.fft(head) * np.conj(np.fft.fft(replica, len(head)))))[:96000]
    if best is None or corr.max() > best[0]:
      best = (corr.max(), n_id2, int(np.argmax(corr)))
  _, n_id2, first = best
  pss = first + 96000 * np.arange((len(x) - first - n) // 96000 + 1)  # every PSS (useful part)

  def spectra(starts):
    return np.fft.fft(x[starts[:, None] + np.arange(n)], axis=1)[:, bins]

  h = spectra(pss) * np.conj(sequences.lte_pss(n_id2))
  candidates = {sf: np.array([sequences.lte_sss(3 * n_id1 + n_id2, sf) for n_id1 in range(168)]) for sf in (0, 5)}
  # SSS one symbol (FDD: 1280 + 90) or three symbols (TDD: 3·1280 + 100 + 90 + 90) before the PSS.
  results = []
  for duplex, distance, pss_from_frame in (('fdd', 1370, 8320), ('tdd', 4120, 22040)):
    valid = pss >= distance
    z = spectra(pss[valid] - distance) * np.conj(h[valid])
    # Parity p: occurrence i carries the SSS of subframe 0 when i + p is even, else that of subframe 5.
    scores = [sum(candidates[0 if (i + parity) % 2 == 0 else 5] @ z_i for i, z_i in enumerate(z)).real
              for parity in (0, 1)]
    parity = int(scores[1].max() > scores[0].max())
    n_id1 = int(np.argmax(scores[parity]))
    start = int(pss[valid][parity] - pss_from_frame) % 192000
    results.append((scores[parity][n_id1] / np.linalg.norm(scores[parity]), 3 * n_id1 + n_id2, duplex, start))
  return max(results)[1:]


@pytest.mark.parametrize('name,ncellid,duplex,cfo', REAL)
def test_real_captures(shared_dir, name, ncellid, duplex, cfo):
  iq = _load_int8(shared_dir / 'realdata/captures' / name)
  expected = _brute_force_cell(iq, cfo)
  assert expected[:2] == (ncellid, duplex)
  cell = lte_receiver.detect_lte_cell(iq, FS_REAL)
  assert (cell.ncellid, cell.duplex, cell.cp) == (ncellid, duplex, 'normal')
  assert abs(_frame_error(cell.frame_start, expected[2], FS_REAL)) <= 90  # the normal CP at 19.2 Msps
  assert abs(cell.cfo_hz - cfo) < 500
  assert cell.num_ports == 2  # port-1 CRS match 0.7-0.97 on all three, ports 2/3 below 0.03
  if duplex == 'tdd':  # uplink subframes 2, 7 (and 3, 4, 8, 9 downlink): configuration 2, as the README says
    power = lte_receiver.tdd_subframe_energy(iq, FS_REAL, cell.frame_start)
    assert lte_receiver.guess_ul_dl_config(power)[0] == 2
    assert lte_receiver.guess_dwpts_symbols(iq, FS_REAL, cell.frame_start) == (3, (0, 5))  # README: 5
  else:
    assert lte_receiver.guess_ul_dl_config(lte_receiver.tdd_subframe_energy(iq, FS_REAL, cell.frame_start))[1] < 3
