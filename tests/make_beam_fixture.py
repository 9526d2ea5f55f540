#!/usr/bin/python3
"""Expected beam-search results for the tiny GPT-2 fixture (tests/fixtures/tiny).

Writes tests/fixtures/tiny/beam_search.txt, read by tests/test_sample.c. The
search follows src/model/beam_search.h's rule, written here independently over
tests/make_fixtures.py's hand-written PyTorch model in float64, recomputing the
whole sequence for every step (no cache). Every step's ranking must be
decided by a margin far above float32 rounding (checked; a case failing it is
an error, not skipped silently).

Format, whitespace-separated: per case a line
  case NUM_BEAMS LENGTH_PENALTY MAX_NEW STOP_TOKEN N_PROMPT PROMPT...
then NUM_HYPS, then per hypothesis a line  SCORE LEN TOKENS...

Run: python3 tests/make_beam_fixture.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

MARGIN = 1e-4  # smallest gap between ranked scores that float32 logits cannot flip


def log_probs(p, seq):
    idx = torch.tensor([seq], dtype=torch.int64)
    logits, _ = mf.forward(p, idx, torch.zeros_like(idx))
    return torch.log_softmax(logits[0, -1, :mf.V], dim=-1).tolist()


def beam_search(p, prompt, N, lp, max_new, stop):
    live = [(list(prompt), 0.0)]
    hyps = []  # (score, generated tokens)
    min_gap = math.inf

    def add(score, gen):
        hyps.append((score, gen))
        hyps.sort(key=lambda h: -h[0])  # stable: earlier first on ties
        del hyps[N:]

    for step in range(max_new):
        cands = []
        for i, (seq, s) in enumerate(live if step else live[:1]):
            lpv = log_probs(p, seq)
            cands += [(s + lpv[v], i, v) for v in range(mf.V)]
        cands.sort(key=lambda c: (-c[0], c[1], c[2]))
        top = cands[:2 * N + 1]
        min_gap = min(min_gap, min(top[j][0] - top[j + 1][0] for j in range(2 * N)))
        new = []
        for rank, (score, i, v) in enumerate(top[:2 * N]):
            if len(new) == N:
                break
            seq = live[i][0]
            if v == stop:
                if rank < N:
                    add(score / (step + 1) ** lp, seq[len(prompt):])
                continue
            new.append((seq + [v], score))
        live = new
        if len(hyps) == N and live[0][1] / (step + 1) ** lp <= hyps[-1][0]:
            return hyps, min_gap
    for seq, s in live:
        add(s / max_new ** lp, seq[len(prompt):])
    return hyps, min_gap


def main():
    p32, xtok, _ = mf.init_params()
    p = {n: t.to(torch.float64) for n, t in p32.items()}
    prompt = [int(t) for t in xtok[0, :3]]
    cases = [(1, 1.0, 6, -1), (3, 1.0, 8, -1), (4, 0.6, 10, -1)]
    # Stop tokens that occur: the second-ranked token of the second step of a search without one.
    for N, lp, max_new in [(3, 1.0, 8), (2, 2.0, 9)]:
        lpv = log_probs(p, prompt)
        first = max(range(mf.V), key=lambda v: lpv[v])
        lpv = log_probs(p, prompt + [first])
        stop = sorted(range(mf.V), key=lambda v: -lpv[v])[1]
        cases.append((N, lp, max_new, stop))
    lines = []
    for N, lp, max_new, stop in cases:
        hyps, gap = beam_search(p, prompt, N, lp, max_new, stop)
        if gap < MARGIN:
            sys.exit(f"case N={N} lp={lp} stop={stop}: ranking gap {gap:.2e} below {MARGIN}")
        print(f"N={N} lp={lp} max_new={max_new} stop={stop}: {len(hyps)} hypotheses, best {hyps[0][0]:.6f}, "
              f"lengths {[len(g) for _, g in hyps]}, smallest ranking gap {gap:.2e}")
        lines.append(f"case {N} {lp} {max_new} {stop} {len(prompt)} " + " ".join(map(str, prompt)))
        lines.append(str(len(hyps)))
        lines += [f"{s:.9f} {len(g)} " + " ".join(map(str, g)) for s, g in hyps]
    out = os.path.join(mf.OUT_DIR, "beam_search.txt")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
