"""EMA codebooks under torch.distributed: 2 gloo processes, each with half the batch, end with
the statistics one process computes from the whole batch, and with identical codebooks after
k-means initialisation and dead-code replacement."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from antiphon.codec.codebook import EuclideanCodebook


def _data(step: int) -> torch.Tensor:
    return torch.randn(64, 4, generator=torch.Generator().manual_seed(100 + step)) * (1 + step)


def _run(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(rank)  # different local RNG: only process 0's draws may count
    cb = EuclideanCodebook(dim=4, codebook_size=8, decay=0.5, check_unused_every=1)
    cb.train()
    share = slice(rank * 64 // world, (rank + 1) * 64 // world)
    cb.init_from(_data(0)[share])
    init = (cb.embedding_sum.clone(), cb.cluster_usage.clone())
    for step in range(1, 4):
        x = _data(step)[share]
        cb.ema_update(x, cb.quantize(x))
    ema = (cb.embedding_sum.clone(), cb.cluster_usage.clone())
    cb.cluster_usage[0] = 1e-6  # force a dead code
    cb.replace_dead_codes(_data(9)[share])
    torch.save({"init": init, "ema": ema, "after": cb.embedding_sum.clone()}, f"{out}/{rank}.pt")
    if world > 1:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_processes_keep_one_codebook_with_whole_batch_statistics(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    mp.spawn(_run, args=(2, _free_port(), str(tmp_path / "two")), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / "two" / f"{r}.pt") for r in (0, 1))
    for key in ("init", "ema"):
        for a, b in zip(r0[key], r1[key], strict=True):
            assert torch.equal(a, b), key  # identical codebooks in both processes
    assert torch.equal(r0["after"], r1["after"])
    # the EMA step sums both halves: equal to one process given the whole batch, starting
    # from the same (process 0's) initialisation
    cb = EuclideanCodebook(dim=4, codebook_size=8, decay=0.5, check_unused_every=1)
    cb.train()
    cb.embedding_sum.copy_(r0["init"][0])
    cb.cluster_usage.copy_(r0["init"][1])
    cb._initialized.fill_(1.0)
    cb.invalidate()
    for step in range(1, 4):
        x = _data(step)
        cb.ema_update(x, cb.quantize(x))
    torch.testing.assert_close(cb.embedding_sum, r0["ema"][0])
    torch.testing.assert_close(cb.cluster_usage, r0["ema"][1])
