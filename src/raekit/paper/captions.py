"""Words for the tables and the report, taken from what was run (eval.json's `protocol`), never
assumed: which images REC and Interp. used, and what each PRD number is."""

from __future__ import annotations

from typing import Any

# Sajjadi et al. (2018): max F_8 summarises recall, max F_1/8 precision. raekit (and the official
# code's prd_from_image_folders.py) write F_8 first.
PRD_ORDER = "F_8 (recall) / F_1/8 (precision)"
PRD_SHORT = "F_8 / F_1/8"


def plural(n: int, noun: str) -> str:
    """'1 comparison', '2 comparisons': a count with its noun in agreement."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def run_protocols(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct protocols of a results.json's runs (a run without one is reported as unknown)."""
    seen: list[dict[str, Any]] = []
    for by_seed in results.get("runs", {}).values():
        for entry in by_seed.values():
            protocol = entry.get("protocol") or {}
            if protocol not in seen:
                seen.append(protocol)
    return seen


def _images(protocol: dict[str, Any]) -> str:
    split = protocol.get("eval_images")
    return {"valid": "validation", "test": "test"}.get(split, "unrecorded")


def protocol_short(protocols: list[dict[str, Any]]) -> str:
    """'REC and Interp. from validation images' (or test images, or a mix), for a table title."""
    splits = sorted({_images(p) for p in protocols})
    if not splits:
        return "REC and Interp. images unrecorded"
    return f"REC and Interp. from {' and '.join(splits)} images" + (
        " (runs differ)" if len(splits) > 1 else ""
    )


def protocol_words(protocols: list[dict[str, Any]]) -> str:
    """What REC and Interp. measured, in sentences, from the recorded protocols."""
    if not protocols:
        return "Which images REC and Interp. used was not recorded."
    parts = []
    for protocol in protocols:
        images = _images(protocol)
        text = (
            f"REC: reconstructions of random {images} images; Interp.: slerp midpoints of random "
            f"pairs of {images} codes"
        )
        if images == "test":
            text += " (the test images are also FID's reference: a paired comparison)"
        elif images == "validation":
            text += " (Appendix D)"
        if protocol.get("rec_sampled"):
            text += "; VAE and CV-VAE reconstructions decode a sampled code"
        if protocol.get("rec_second_stage"):
            text += "; the 2sVAE's reconstructions pass through its second stage"
        parts.append(text)
    prefix = "Runs differ: " if len(parts) > 1 else ""
    return prefix + "; or ".join(parts) + "."
