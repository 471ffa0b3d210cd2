"""The paper's claims on hand-made results: each one holding, failing and unresolved."""

import copy

import pytest

from raekit.paper.claims import (
    FAILS,
    HOLDS,
    UNRESOLVED,
    all_of,
    any_of,
    check_claims,
    claims_markdown,
    compare,
)
from raekit.paper.results import aggregate, build, stat

MODELS = ("vae", "cv-vae", "wae", "rae-l2", "rae", "ae")
NORMAL = {
    "vae": "prior",
    "wae": "prior",
    "cv-vae": "gaussian",
    "rae-l2": "gaussian",
    "rae": "gaussian",
    "ae": "gaussian",
}
# Per model (REC, N, GMM, Interp) FID and (N, GMM) PRD (F_8, F_1/8), in the shape of the paper's MNIST
# results: RAEs best, GMM better than N, VAEs reconstruct worst.
FID = {
    "vae": (30, 40, 35, 40),
    "cv-vae": (28, 60, 38, 42),
    "wae": (20, 45, 30, 32),
    "rae-l2": (15, 38, 20, 25),
    "rae": (16, 44, 22, 26),
    "ae": (17, 90, 25, 30),
}
PRD = dict.fromkeys(FID, ((0.8, 0.7), (0.95, 0.9)))
JITTER = (-1.0, 0.0, 1.0)  # per-seed offsets of FIDs: std 1 for three seeds


def make_runs(fid=FID, prd=PRD, seeds=3, jitter=JITTER):
    runs = {}
    for model, (rec, normal, gmm, interp) in fid.items():
        runs[model] = {}
        for s in range(seeds):
            j = jitter[s]
            kind = NORMAL[model]
            runs[model][str(s)] = {
                "model": model,
                "seed": s,
                "columns": {"N": kind, "GMM": "gmm"},
                "fid": {"rec": rec + j, kind: normal + j, "gmm": gmm + j, "interp": interp + j},
                "prd": {
                    kind: {"f8": prd[model][0][0] + j / 100, "f1_8": prd[model][0][1] + j / 100},
                    "gmm": {"f8": prd[model][1][0] + j / 100, "f1_8": prd[model][1][1] + j / 100},
                },
            }
    return runs


def status(runs, claim):
    return next(c for c in check_claims({"runs": runs}) if c["claim"] == claim)["status"]


def with_fid(model, index, value):
    fid = copy.deepcopy(FID)
    row = list(fid[model])
    row[index] = value
    fid[model] = tuple(row)
    return fid


def test_stat_is_the_sample_mean_and_std():
    s = stat([1.0, 2.0, 6.0])
    assert s["mean"] == 3.0 and s["std"] == pytest.approx(((4 + 1 + 9) / 2) ** 0.5) and s["n"] == 3
    assert stat([5.0])["std"] is None


def test_compare_against_a_hand_computation():
    a, b = stat([10.0, 12.0]), stat([20.0, 22.0, 24.0])  # std sqrt(2) and 2
    c = compare("a", a, "b", b)
    assert (
        c["gap"] == pytest.approx(11.0)
        and c["spread"] == pytest.approx(2**0.5 + 2)
        and c["outcome"] == HOLDS
    )
    assert compare("b", b, "a", a)["outcome"] == FAILS
    c = compare("a", a, "b", b, factor=0.5)  # a < 0.5 b ?  0.5 * 22 - 11 = 0, spread sqrt 2 + 1
    assert c["gap"] == pytest.approx(0.0) and c["outcome"] == UNRESOLVED
    up = compare("a", stat([0.9, 0.92]), "b", stat([0.5, 0.52]), higher_is_better=True)
    assert up["gap"] == pytest.approx(0.4) and up["outcome"] == HOLDS
    assert compare("a", stat([1.0]), "b", stat([100.0, 101.0]))["outcome"] == UNRESOLVED  # one seed


def test_three_valued_combinations():
    assert all_of([HOLDS, HOLDS]) == HOLDS and all_of([HOLDS, UNRESOLVED]) == UNRESOLVED
    assert all_of([UNRESOLVED, FAILS]) == FAILS and all_of([]) == UNRESOLVED
    assert any_of([FAILS, HOLDS]) == HOLDS and any_of([FAILS, UNRESOLVED]) == UNRESOLVED
    assert any_of([FAILS, FAILS]) == FAILS and any_of([]) == UNRESOLVED


def test_every_claim_holds_on_paper_like_results():
    claims = check_claims({"runs": make_runs()})
    assert [c["status"] for c in claims] == [HOLDS] * 5
    assert "| 1. " in claims_markdown(claims) and all(c["comparisons"] for c in claims)


@pytest.mark.parametrize(
    "claim,fid",
    [
        (1, with_fid("rae", 2, 60)),  # rae's GMM worse than its N (44)
        (2, with_fid("wae", 2, 10)),  # a non-RAE has the best GMM FID
        (2, with_fid("ae", 3, 18)),  # RAEs (best 25) not within 10% of ae's Interp.
        (4, with_fid("ae", 0, 50)),  # ae reconstructs worse than the VAE
        (5, with_fid("rae", 3, 50)),  # an RAE interpolates worse than the VAE
    ],
)
def test_each_claim_fails_when_the_numbers_contradict_it(claim, fid):
    assert status(make_runs(fid), claim) == FAILS
    others = [c["status"] for c in check_claims({"runs": make_runs(fid)}) if c["claim"] != claim]
    assert FAILS not in others or claim == 2


def test_prd_claim_fails_when_gmm_loses_recall():
    prd = dict(PRD, rae=((0.80, 0.70), (0.60, 0.90)))
    assert status(make_runs(prd=prd), 3) == FAILS


@pytest.mark.parametrize(
    "claim,fid",
    [
        (1, with_fid("rae", 2, 43)),  # GMM 43 vs N 44, spread 2
        (2, with_fid("wae", 2, 21)),  # wae's GMM 21 vs rae-l2's 20
        (4, with_fid("ae", 0, 29.5)),  # REC 29.5 vs 30
        (5, with_fid("rae", 3, 39)),  # Interp. 39 vs 40
    ],
)
def test_a_gap_within_the_seeds_spread_is_not_resolved(claim, fid):
    assert status(make_runs(fid), claim) == UNRESOLVED


def test_prd_gap_within_the_spread_is_not_resolved():
    prd = dict(PRD, ae=((0.80, 0.70), (0.81, 0.90)))  # F_8 0.81 vs 0.80, spread 0.02
    assert status(make_runs(prd=prd), 3) == UNRESOLVED


def test_single_seed_resolves_nothing_and_missing_models_are_unresolved():
    claims = check_claims({"runs": make_runs(seeds=1)})
    assert [c["status"] for c in claims] == [UNRESOLVED] * 5
    only_raes = {m: r for m, r in make_runs().items() if m in ("rae", "rae-l2")}
    claims = check_claims({"runs": only_raes})
    assert [c["status"] for c in claims] == [HOLDS, UNRESOLVED, HOLDS, UNRESOLVED, UNRESOLVED]
    assert "not evaluated" in claims[1]["reason"]


def test_claims_read_the_runs_of_results_json():
    results = build({"dataset": "mnist", "seeds": [0, 1, 2]}, make_runs())
    assert [c["status"] for c in check_claims(results)] == [HOLDS] * 5
    agg = aggregate(make_runs())
    assert agg["rae"]["fid"]["gmm"]["mean"] == pytest.approx(22.0) and agg["rae"]["fid"]["gmm"][
        "std"
    ] == pytest.approx(1.0)
    assert agg["vae"]["prd"]["prior"]["f8"]["values"] == pytest.approx([0.79, 0.80, 0.81])
