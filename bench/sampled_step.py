"""The sparse recipe's costliest part, timed: scores of a step's users against its sampled
programs, the sampled softmax, and their backward, at the sizes of a 100k-user step.

Compares :func:`gnn.train.sampled_scores` (one pass over the ``[users, samples]`` matrix)
with the same scores written plainly (product, then 1/tau, bias and logQ correction as
three more passes), side by side in one process; prints each one's times and the loss,
which must be the same.

    .venv/bin/python bench/sampled_step.py [--users 20000 --samples 5000 --threads 1]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch

from gnn.loss import sampled_softmax_loss
from gnn.train import sampled_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000, help="distinct users in a step")
    parser.add_argument("--samples", type=int, default=5_000, help="programs sampled")
    parser.add_argument("--programs", type=int, default=20_000, help="catalogue size")
    parser.add_argument("--pairs", type=int, default=26_000, help="positive pairs in a step")
    parser.add_argument("--dim", type=int, default=65, help="embedding size (64 + the bias)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)

    def unit(rows: int) -> torch.Tensor:
        x = torch.randn(rows, args.dim, generator=g)
        return torch.nn.functional.normalize(x, dim=1).requires_grad_()

    users, samples = unit(args.users), unit(args.samples)
    bias = (0.1 * torch.randn(args.samples, generator=g)).requires_grad_()
    row = torch.randint(args.users, (args.pairs,), generator=g)
    positive = torch.randn(args.pairs, generator=g).requires_grad_()
    log_weight = torch.full((args.samples,), math.log(args.programs / args.samples))
    inv_tau = 4.0

    def plain() -> torch.Tensor:
        scores = users @ samples.T * inv_tau + bias
        return sampled_softmax_loss(positive, scores, row, log_weight=log_weight)

    def one_pass() -> torch.Tensor:
        scores = sampled_scores(users, samples, log_weight + bias, inv_tau)
        return sampled_softmax_loss(positive, scores, row, log_weight=None)

    times: dict[str, list[float]] = {"plain": [], "one pass": []}
    for _ in range(args.repeats):
        for name, step in (("plain", plain), ("one pass", one_pass)):
            start = time.perf_counter()
            loss = step()
            loss.backward()  # type: ignore[no-untyped-call]
            times[name].append(time.perf_counter() - start)
            print(f"{name}: loss {float(loss.detach()):.6f}, {times[name][-1]:.3f} s", flush=True)
    for name, values in times.items():
        values.sort()
        print(f"{name}: min {values[0]:.3f} s, median {values[len(values) // 2]:.3f} s")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.users:,} users x {args.samples:,} samples, {args.threads} thread(s), load {load}")


if __name__ == "__main__":
    main()
