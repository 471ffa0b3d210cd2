"""A process the distributed and fault tests launch (alone or under torchrun).

    python ddp_worker.py train OUT [key=value ...]   train() on sklearn digits into run dir OUT
    python ddp_worker.py grad OUT [key=value ...]    one forward/backward on a fixed batch
    python ddp_worker.py cli ARGS...                 `raekit ARGS...`, with the fault hooks below
    python ddp_worker.py codes OUT                   encode CODES_N digits and fit the streaming GMM

Fault hooks, chosen by environment variables:
    RAEKIT_WORKER_STATE_DIR=DIR      each rank saves its final model to DIR/rank-R.safetensors
    RAEKIT_WORKER_KILL=E:B:R         rank R SIGKILLs itself just before batch B of epoch E (0-based) ...
    RAEKIT_WORKER_MARKER=FILE        ... unless FILE exists (it is created first: kill once only)
    RAEKIT_WORKER_KILL_IN_SAVE=N     SIGKILL inside the fsync of the N-th checkpoint tensor file
    RAEKIT_WORKER_STEP_DELAY=E:S     every step from epoch E (0-based) on sleeps S seconds first
    RAEKIT_WORKER_FLOAT64=1          build the model and feed the images in float64
    RAEKIT_WORKER_OFFLINE=1          every URL fails at once, as on a machine without a network
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from raekit import distributed
from raekit.config import make_config, parse_assignments
from raekit.data import load_images
from raekit.io import atomic
from raekit.models.build import build_from_config
from raekit.training.epochs import EpochLoop, LossModule
from raekit.training.loop import train
from raekit.training.utils import to_input

GRAD_BATCH = 20  # images in the one global batch of `grad` mode
CODES_N, CODES_BATCH, GMM_CHUNK = (
    1001,
    64,
    97,
)  # odd on purpose: blocks and chunks never divide evenly
SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(
    args: list[str], nproc: int = 1, max_restarts: int = 0, timeout: float = 150, **env: str
) -> subprocess.CompletedProcess:
    """Run this script (under torchrun when nproc > 1) with one thread per process; env adds variables."""
    full_env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", **env}
    command = [sys.executable, __file__, *args]
    if nproc > 1:
        command[1:1] = [
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            f"--max-restarts={max_restarts}",
            f"--master_port={free_port()}",
        ]
    return subprocess.run(
        command, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _config(assignments: list[str]):
    values = {"epochs": 2, "batch_size": 50, "train_limit": 200, "valid_limit": 60}
    values.update(parse_assignments(assignments))
    return make_config("digits", values.pop("model", "rae-l2"), "tiny", **values)


def _install_state_dump(directory: str) -> None:
    """After the loop ends, write this rank's weights and buffers (rank 0 alone writes run files)."""
    original = EpochLoop.run

    def run(self, train_x, valid_x):
        original(self, train_x, valid_x)
        state = {k: v.detach().clone().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(Path(directory) / f"rank-{_rank()}.safetensors"))

    EpochLoop.run = run


def _install_kill(where: str, marker: str | None) -> None:
    """SIGKILL (nothing runs after it: no handler, no checkpoint) at one exact step, once."""
    epoch, batch, rank = (int(v) for v in where.split(":"))
    original = EpochLoop._step

    def step(self, x, b):
        if (self.state.epoch, b, _rank()) == (epoch, batch, rank) and not (
            marker and os.path.exists(marker)
        ):
            if marker:
                Path(marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, x, b)

    EpochLoop._step = step


def _install_step_delay(spec: str) -> None:
    """Slow the steps from one epoch on, so that a signal surely arrives before the run ends."""
    first, seconds = spec.split(":")
    original = EpochLoop._step

    def step(self, x, b):
        if self.state.epoch >= int(first):
            time.sleep(float(seconds))
        return original(self, x, b)

    EpochLoop._step = step


def _install_kill_in_save(n: int) -> None:
    """Die with the n-th checkpoint's tensor file written to its temporary name but not renamed."""
    original = atomic.atomic_path
    count = {"n": 0}

    def atomic_path(path, mode=None):
        path = Path(path)
        if path.parent.name == "checkpoints" and path.suffix == ".safetensors":
            count["n"] += 1
            if count["n"] == n:
                os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        return original(path, mode)

    atomic.atomic_path = atomic_path


def _use_float64() -> None:
    """Train in float64: rounding then sits ~1e-16 down, far below any real discrepancy."""
    torch.set_default_dtype(torch.float64)  # images come in the default dtype


def _go_offline() -> None:
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network unreachable (offline test)")

    urllib.request.urlopen = refuse


def _install_hooks() -> None:
    env = os.environ
    if env.get("RAEKIT_WORKER_OFFLINE"):
        _go_offline()
    if env.get("RAEKIT_WORKER_FLOAT64"):
        _use_float64()
    if env.get("RAEKIT_WORKER_STATE_DIR"):
        _install_state_dump(env["RAEKIT_WORKER_STATE_DIR"])
    if env.get("RAEKIT_WORKER_KILL"):
        _install_kill(env["RAEKIT_WORKER_KILL"], env.get("RAEKIT_WORKER_MARKER"))
    if env.get("RAEKIT_WORKER_KILL_IN_SAVE"):
        _install_kill_in_save(int(env["RAEKIT_WORKER_KILL_IN_SAVE"]))
    if env.get("RAEKIT_WORKER_STEP_DELAY"):
        _install_step_delay(env["RAEKIT_WORKER_STEP_DELAY"])


def one_gradient(out: Path, assignments: list[str]) -> None:
    """Gradients and batch-norm buffers after one forward/backward of a fixed global batch, in
    float32 and in float64 (where rounding no longer hides a wrong formula).

    Under torchrun each rank takes its interleaved share, exactly as the training loop does.
    """
    config = _config(assignments)
    ctx = distributed.setup(config.device)
    try:
        images = torch.from_numpy(load_images("digits").train[:GRAD_BATCH])
        index = torch.arange(GRAD_BATCH)
        if ctx.distributed:
            index = distributed.shard(index, ctx)
        out.mkdir(parents=True, exist_ok=True)
        for dtype in (torch.float32, torch.float64):
            torch.manual_seed(config.seed)
            model = build_from_config(config).to(dtype)
            net = distributed.wrap_for_training(LossModule(model), ctx)
            net(to_input(images[index], ctx.device).to(dtype))["loss"].backward()
            tensors = {f"grad.{k}": p.grad.clone() for k, p in model.named_parameters()}
            tensors.update({f"buffer.{k}": b.clone() for k, b in model.named_buffers()})
            save_file(tensors, str(out / f"grad-rank-{ctx.rank}-{str(dtype)[6:]}.safetensors"))
    finally:
        distributed.teardown(ctx)


def codes_model():
    """A fixed (untrained) tiny digits model: the same weights in every process that builds it."""
    torch.manual_seed(0)
    return build_from_config(_config([])).eval()


def codes_and_gmm(out: Path) -> None:
    """Encode CODES_N digits into OUT/codes.npy across ranks, fit the streaming GMM on that file,
    and save what this rank ended with (the codes it reads back, the GMM) to OUT/rank-R.npz."""
    import numpy as np

    from raekit.density.streaming import fit_gmm_streaming
    from raekit.generation.codes import encode_to_file

    ctx = distributed.setup("cpu")
    try:
        model, images = codes_model(), load_images("digits").train[:CODES_N]
        path = encode_to_file(model, images, out / "codes.npy", ctx, CODES_BATCH)
        in_memory = np.load(path)
        gmm = fit_gmm_streaming(path, ctx, chunk=GMM_CHUNK, components=4)
        np.savez(
            out / f"rank-{ctx.rank}.npz",
            codes=in_memory,
            weights=gmm.weights_,
            means=gmm.means_,
            covariances=gmm.covariances_,
            n_iter=gmm.n_iter_,
        )
    finally:
        distributed.teardown(ctx)


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    _install_hooks()
    if mode == "cli":
        from raekit.cli import main as cli_main

        return cli_main(rest)
    if mode == "grad":
        one_gradient(Path(rest[0]), rest[1:])
        return 0
    if mode == "codes":
        codes_and_gmm(Path(rest[0]))
        return 0
    config = _config(rest[1:])
    train(config, rest[0], data=load_images("digits"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
