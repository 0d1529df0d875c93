"""Binary convolutional codes of constraint length K, both ways: LTE's tail-biting rate-1/3 code
(TS 36.212 §5.1.3.1) and 802.11's zero-tailed rate-1/2 BCC (IEEE 802.11-2020 §17.3.5.6) are two instances.

A generator's most significant of its K bits taps the current input bit, the next the bit before it, and so on;
the state holds the K - 1 previous input bits with the most recent as its MSB.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def trellis(generators: tuple[int, ...], constraint: int = 7) -> tuple[np.ndarray, np.ndarray]:
  """(next_state, outputs): (S, 2) and (S, 2, n) uint8 for S = 2^(K-1) states, input bit b and n generators."""
  states = np.arange(2 ** (constraint - 1))[:, None]
  window = (np.arange(2)[None, :] << (constraint - 1)) | states  # c_k, c_{k-1}, ..., c_{k-K+1} from the MSB
  parity = np.vectorize(lambda w, g: bin(int(w) & int(g)).count('1') & 1)
  outputs = np.stack([parity(window, g) for g in generators], -1).astype(np.uint8)
  outputs.flags.writeable = False
  return window >> 1, outputs


def encode(bits: np.ndarray, generators: tuple[int, ...], constraint: int = 7, *,
           tail_biting: bool = False) -> np.ndarray:
  """(n, len(bits)) coded streams, one row per generator.

  Args:
    bits: input bits (a zero-tailed code's caller appends its K - 1 zero tail bits).
    generators: generator polynomials (octal as written in the standards: 0o133, 0o171, ...).
    constraint: K.
    tail_biting: start the register with the last K - 1 input bits (LTE), else with zeros (802.11).
  """
  bits = np.asarray(bits).astype(np.int64)
  next_state, outputs = trellis(tuple(generators), constraint)
  state = 0
  if tail_biting:
    for bit in bits[::-1][:constraint - 1][::-1]:  # the last K - 1 bits, the most recent as the MSB
      state = int(next_state[state, bit])
  out = np.zeros((len(generators), len(bits)), np.uint8)
  for k, bit in enumerate(bits):
    out[:, k] = outputs[state, bit]
    state = next_state[state, bit]
  return out


def viterbi(soft: np.ndarray, generators: tuple[int, ...], constraint: int = 7, *,
            tail_biting: bool = False) -> np.ndarray:
  """Maximum-likelihood decoding of `encode`'s code.

  Args:
    soft: (n, K) soft values, positive for bit 0 (log-likelihood ratios or anything proportional); zero for a
      punctured bit.
    generators, constraint: as `encode`.
    tail_biting: try every start state and keep paths that end where they started (LTE); else start and end in
      state 0 (a zero-tailed code: the last K - 1 decoded bits are its tail).
  Returns:
    The K decoded bits (uint8).
  """
  soft = np.asarray(soft, np.float64)
  length = soft.shape[1]
  num_states = 2 ** (constraint - 1)
  _, outputs = trellis(tuple(generators), constraint)
  branch = np.einsum('sbj,jk->ksb', 1.0 - 2.0 * outputs, soft)  # (K, state, input) correlation metrics
  # The predecessors of state s: p = ((s << 1) & (S - 1)) | low bit; the input that led to s is its MSB.
  prev = ((np.arange(num_states)[:, None] << 1) & (num_states - 1)) | np.arange(2)[None, :]
  bit_in = np.arange(num_states) >> (constraint - 2)
  starts = num_states if tail_biting else 1
  metric = np.full((starts, num_states), -np.inf)  # (start hypothesis, state)
  metric[np.arange(starts), np.arange(starts)] = 0.0
  choices = np.zeros((length, starts, num_states), np.uint8)
  for k in range(length):
    candidates = metric[:, prev] + branch[k][prev, bit_in[:, None]][None]  # (start, state, 2)
    choice = np.argmax(candidates, axis=-1)
    choices[k] = choice
    metric = np.take_along_axis(candidates, choice[..., None], -1)[..., 0]
  start = int(np.argmax(np.diag(metric))) if tail_biting else 0
  state, bits = start, np.zeros(length, np.uint8)
  for k in range(length - 1, -1, -1):
    bits[k] = bit_in[state]
    state = prev[state, choices[k, start, state]]
  return bits
