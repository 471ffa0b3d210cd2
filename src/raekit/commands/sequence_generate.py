"""`raekit sample` and `raekit interpolate` on expression and molecule runs: strings out.

sample: codes drawn from an ex-post density of the training codes (or N(0, I)), decoded (greedy
by default, or one sampled decoding each) and written one per line (.txt) or with their
validity (.json). interpolate: GrammarVAE's latent smoothness listing, the decodings of evenly
spaced codes on the line (or great circle) between the codes of two held-out strings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from raekit.errors import RaekitError
from raekit.generation import encode_images, load_run_density
from raekit.generation.interpolate import interpolation_path
from raekit.grammar.sequence_task import sequence_task
from raekit.grammar.task import decode_strings
from raekit.io.atomic import atomic_write_text
from raekit.runs import Run

SUFFIXES = (".txt", ".json")


def _out(path: str) -> Path:
    out = Path(path)
    if out.suffix not in SUFFIXES:
        raise RaekitError(f"--out must end in .txt or .json for a sequence run, got {path!r}")
    if out.is_dir():
        raise RaekitError(f"--out {path} is a folder; name a .txt or .json file")
    return out


def _write(out: Path, text: str) -> None:
    atomic_write_text(out, text)
    print(out)


def sample_strings(args, run: Run) -> int:
    out = _out(args.out)
    kind = args.density
    density = load_run_density(run, kind, args.components)
    codes = np.asarray(density.sample(args.n, seed=args.seed), dtype=np.float32)
    strings = decode_strings(run.model, codes, sample=args.decode == "sample", seed=args.seed)
    flags = [sequence_task(run.config.dataset).valid(s) for s in strings]
    if out.suffix == ".json":
        text = json.dumps([{"string": s, "valid": v} for s, v in zip(strings, flags)], indent=1)
    else:
        text = "".join(f"{s}\n" for s in strings)
    _write(out, text)
    print(f"{sum(flags)} of {len(strings)} decodings valid ({kind} samples, {args.decode})")
    return 0


def interpolate_strings(args, run: Run) -> int:
    out = _out(args.out)
    data = run.data
    items, strings = getattr(data, args.split), data.strings[args.split]
    if len(items) < 2:
        raise RaekitError(f"the {args.split} split has fewer than two strings to interpolate")
    pick = np.random.default_rng(args.seed).choice(len(items), size=(args.pairs, 2))
    codes = encode_images(run.model, items[pick.reshape(-1)], desc=None).reshape(args.pairs, 2, -1)
    origin = None
    if args.origin == "mean":
        origin = encode_images(run.model, data.valid, desc=None).mean(0)
    t = np.linspace(0.0, 1.0, args.steps)
    path = interpolation_path(codes[:, 0], codes[:, 1], t, args.method, origin)
    decoded = decode_strings(run.model, path.reshape(-1, path.shape[-1]).astype(np.float32))
    pairs = [
        {
            "from": strings[a],
            "to": strings[b],
            "path": [{"t": float(x), "string": s} for x, s in zip(t, decoded[i * len(t) :])],
        }
        for i, (a, b) in enumerate(pick)
    ]
    if out.suffix == ".json":
        text = json.dumps(pairs, indent=1)
    else:
        text = "\n".join(_listing(i, p) for i, p in enumerate(pairs, start=1))
    _write(out, text)
    return 0


def _listing(number: int, pair: dict) -> str:
    lines = [f"pair {number}: {pair['from']}  ->  {pair['to']}"]
    lines += [f"  {p['t']:.2f}  {p['string'] or '(incomplete)'}" for p in pair["path"]]
    return "\n".join(lines) + "\n"
