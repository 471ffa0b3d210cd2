"""Data-parallel training on torch.distributed, launched by torchrun (gloo on CPU, nccl on GPU).

A single process is the world-size-1 case of the same code path, so a script runs unchanged on a
laptop and under `torchrun --nproc_per_node=N -m raekit train ...`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from raekit.devices import compute_device
from raekit.errors import RaekitError


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> Context:
    """Join the process group torchrun describes in the environment (if any)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    want = check_device(device)
    if world <= 1:
        return Context(device=want)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if want.type == "cuda":
        torch.cuda.set_device(local_rank)
        want = torch.device("cuda", local_rank)
    if not dist.is_initialized():
        _init_group("nccl" if want.type == "cuda" else "gloo", rank, world)
    return Context(rank, world, want)


def check_device(device: str) -> torch.device:
    """The torch device named `device` (auto: the best available), refused clearly when missing."""
    return compute_device(device)


def _init_group(backend: str, rank: int, world: int) -> None:
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    if attempt == "0":
        dist.init_process_group(backend)
        return
    # torchrun keeps one store across restarts and the group's keys carry no attempt number, so a
    # restarted group would read the dead workers' addresses (connection refused, or a hang).
    agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == str(True)
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"],
        int(os.environ["MASTER_PORT"]),
        world,
        is_master=rank == 0 and not agent_store,
    )
    dist.init_process_group(
        backend,
        store=dist.PrefixStore(f"raekit/attempt-{attempt}", store),
        rank=rank,
        world_size=world,
    )


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def any_rank(ctx: Context, flag: bool) -> bool:
    """True on every rank if `flag` is true on any (stop signals, errors)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([int(flag)], device=_comm_device(ctx))
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def all_reduce_sum(ctx: Context, tensor: torch.Tensor) -> torch.Tensor:
    """The sum over ranks (in place on `tensor` where it already lives on the communication device)."""
    if not ctx.distributed:
        return tensor
    shared = tensor.to(_comm_device(ctx))
    dist.all_reduce(shared)
    return shared.to(tensor.device)


def block(n: int, ctx: Context) -> range:
    """This rank's contiguous share of n items: rank r gets [n r / W, n (r + 1) / W), so the blocks
    tile 0..n in order, none lost or repeated, whatever n and the world size."""
    return range(n * ctx.rank // ctx.world_size, n * (ctx.rank + 1) // ctx.world_size)


def broadcast(ctx: Context, tensor: torch.Tensor) -> torch.Tensor:
    """Rank 0's value of `tensor` on every rank."""
    if not ctx.distributed:
        return tensor
    shared = tensor.to(_comm_device(ctx)).contiguous()
    dist.broadcast(shared, 0)
    return shared.to(tensor.device)


def _comm_device(ctx: Context) -> torch.device:
    # nccl moves only GPU tensors, gloo CPU ones.
    return ctx.device if ctx.device.type == "cuda" else torch.device("cpu")


def wrap_for_training(module: nn.Module, ctx: Context) -> nn.Module:
    """Batch norm over the global batch, then DistributedDataParallel (identity for one process).
    Call it before creating the optimiser: GPU SyncBatchNorm replaces modules."""
    if not ctx.distributed:
        return module
    if ctx.device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return nn.parallel.DistributedDataParallel(module, device_ids=[ctx.device.index])
    _use_global_batchnorm(module)
    return nn.parallel.DistributedDataParallel(module)


def shard(batch_indices: torch.Tensor, ctx: Context) -> torch.Tensor:
    """This rank's share of a global batch (interleaved, as DistributedSampler splits)."""
    if len(batch_indices) % ctx.world_size:
        raise RaekitError(
            f"batch of {len(batch_indices)} does not split over {ctx.world_size} processes"
        )
    return batch_indices[ctx.rank :: ctx.world_size]


class GlobalBatchNorm(_BatchNorm):
    """Batch norm whose training statistics span all ranks (nn.SyncBatchNorm is GPU-only).

    Same parameters and buffers as nn.BatchNorm*, so checkpoints move freely between one and
    many processes. Gradients flow through the all-reduce.
    """

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {input.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        dims, c = [0, *range(2, x.dim())], x.shape[1]
        shape = [1, c] + [1] * (x.dim() - 2)
        count = torch.tensor([float(x.numel() // c)], dtype=x.dtype, device=x.device)
        sums = _AllReduceSum.apply(torch.cat([x.sum(dims), count]))
        n = sums[-1]
        mean = sums[:c] / n
        # Two passes (mean, then squared deviations): E[x^2] - E[x]^2 cancels badly in float32.
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply(centred.pow(2).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
        y = centred * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; each rank's input feeds every rank's output, so gradients are summed too."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _use_global_batchnorm(module: nn.Module) -> None:
    # Swap the class in place: the parameters stay the very objects the optimiser holds.
    for child in module.modules():
        if isinstance(child, _BatchNorm) and not isinstance(child, GlobalBatchNorm):
            child.__class__ = GlobalBatchNorm
