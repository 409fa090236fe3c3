"""The standard torch.distributed stack, as launched by ``torchrun``: the process group comes
from the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT), models are wrapped in
DistributedDataParallel or sharded with FSDP (``fully_shard``). One process without those
variables is the plain single-device case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"run.device={name!r} but CUDA is not available here")
    return torch.device(name)


def init_distributed(device: str) -> DistEnv:
    """Join the process group torchrun describes (gloo on CPU, NCCL on CUDA), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistEnv(rank, world, local, dev)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier()


def all_gather_objects(env: DistEnv, obj: Any) -> list[Any]:
    if not env.enabled:
        return [obj]
    out: list[Any] = [None] * env.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(env: DistEnv, obj: Any) -> Any:
    if not env.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_over_ranks(env: DistEnv, value: torch.Tensor) -> torch.Tensor:
    """Average of a (detached) tensor over processes (for normalisers and logs)."""
    if not env.enabled:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / env.world


def wrap(module: nn.Module, env: DistEnv, mode: str) -> nn.Module:
    """DDP or FSDP around a module with trainable parameters; unchanged when not distributed."""
    if not env.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    if mode == "fsdp":
        from torch.distributed.fsdp import fully_shard

        # Transformer layers are driven through their submodules (norm1, self_attn.qkv,
        # ffn), not through the layer's own forward, so FSDP's units are the layers' leaf
        # modules that own weights (linears, norms): each weight is gathered just before use.
        # Everything else (embeddings, heads) belongs to the root unit.
        for child in module.modules():
            layers = getattr(child, "layers", None)
            if isinstance(layers, nn.ModuleList) and child is not module:
                for leaf in layers.modules():
                    if next(leaf.parameters(recurse=False), None) is not None:
                        fully_shard(leaf)
        fully_shard(module)
        return module
    ids = [env.device.index] if env.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def full_state_dict(module: nn.Module, env: DistEnv, mode: str) -> dict[str, torch.Tensor]:
    """The whole model's state on CPU (gathered from the shards under FSDP)."""
    if env.enabled and mode == "fsdp":
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return dict(get_model_state_dict(module, options=opts))  # type: ignore[arg-type]
    return {k: v.detach().cpu().clone() for k, v in unwrap(module).state_dict().items()}


def load_full_state_dict(
    module: nn.Module, state: dict[str, torch.Tensor], env: DistEnv, mode: str
) -> None:
    if env.enabled and mode == "fsdp":
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True, broadcast_from_rank0=False)
        set_model_state_dict(module, dict[str, Any](state), options=opts)
        return
    unwrap(module).load_state_dict(state)


def optimizer_state(
    module: nn.Module, opt: torch.optim.Optimizer, env: DistEnv, mode: str
) -> dict[str, Any]:
    if env.enabled and mode == "fsdp":
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_optimizer_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(module, opt, options=opts)
    return opt.state_dict()


def load_optimizer_state(
    module: nn.Module, opt: torch.optim.Optimizer, state: dict[str, Any], env: DistEnv, mode: str
) -> None:
    if env.enabled and mode == "fsdp":
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True)
        set_optimizer_state_dict(module, opt, state, options=opts)
        return
    opt.load_state_dict(state)
