"""The two sequence tasks of the paper's Section 6.2 as one table of facts: what a task's strings
are, how they are read, their grammar and lengths, the objective BO minimises, its sign and
validity rule, and GrammarVAE's BO protocol (draws per point, where the worst score is taken).
Every choice that differs between expressions and molecules reads a `SequenceTask` row."""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from raekit.errors import unknown
from raekit.grammar import scores
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR, Grammar
from raekit.grammar.corpora import fetch_moses, read_smiles_file
from raekit.grammar.expression_file import expression_strings
from raekit.grammar.sameness import expression_key, molecule_key

STANDARDISATIONS = ("zinc250k", "data")


@dataclass
class Objective:
    """A task's score to minimise, its validity test, and the sign shown to users."""

    score: Callable[[str], float]
    valid: Callable[[str], bool]
    sign: float  # multiply a minimised score by this for display
    stats: dict | None = None
    invalid_score: float | None = None  # what an invalid proposal scores (None: the data's worst)


def _expression_objective(strings: list[str], standardise: str = "zinc250k") -> Objective:
    """log(1 + MSE) to the target; valid (GrammarVAE's rule) when the decoding derives from the
    grammar and evaluates at x = 0; invalid ones score log(1 + 1000)."""
    return Objective(
        scores.expression_score,
        scores.is_valid_expression,
        1.0,
        invalid_score=scores.INVALID_EXPRESSION_SCORE,
    )


def _molecule_objective(strings: list[str], standardise: str = "zinc250k") -> Objective:
    """Negated penalised logP standardised with GrammarVAE's ZINC250k constants
    (``standardise="zinc250k"``) or on ``strings`` (``"data"``)."""
    if standardise not in STANDARDISATIONS:
        raise unknown("standardisation", standardise, STANDARDISATIONS)
    stats = scores.ZINC250K_STATS if standardise == "zinc250k" else scores.score_statistics(strings)

    def score(smiles: str) -> float:
        value = scores.penalized_logp(smiles, stats)
        return float("inf") if value is None else -value

    return Objective(score, scores.is_valid_molecule, -1.0, stats=stats.to_dict())


def _expression_strings(config) -> tuple[list[str], list[int] | None]:
    """GrammarVAE's expressions (`config.data_root`: the file or its folder; default: the cached
    copy, else the synthetic corpus); no file lines."""
    return expression_strings(config.data_root, config.max_rows, config.seed), None


def _molecule_strings(config) -> tuple[list[str], list[int] | None]:
    """A SMILES file's molecules (default: MOSES) and their file lines."""
    path = Path(config.data_root) if config.data_root else fetch_moses()
    rows = read_smiles_file(path, max_rows=config.max_rows)
    return rows.values, rows.lines


def _molecule_png(smiles: str) -> bytes:
    from rdkit import Chem  # the molecules extra
    from rdkit.Chem import Draw

    buffer = io.BytesIO()
    Draw.MolToImage(Chem.MolFromSmiles(smiles), size=(220, 180)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class SequenceTask:
    """The facts of one sequence task (a row of `SEQUENCE_TASKS`)."""

    name: str
    item: str  # what one string is, in prose
    grammar: Grammar
    char_max_length: int  # the character model's sequence length (GrammarVAE's data scripts)
    read_strings: Callable  # config -> (strings, their file lines or None)
    objective: Callable[..., Objective]  # (strings, standardise) -> the score BO minimises
    lower_is_better: bool  # as scores are shown (log(1 + MSE) falls, penalised logP rises)
    score_sense: str
    validity: str  # the validity rule, as bo.json records it
    same: Callable[[str], Hashable]  # when two proposals are one item
    known: Callable[[str], Hashable]  # the key novelty is judged by against the training strings
    draws: int  # decodings per proposed point (GrammarVAE)
    worst_over: str  # where GrammarVAE's get_final_results.py takes the worst score it leaves out
    standardised: bool  # whether BO's scores take a standardisation (recorded in bo.json)
    cpu_net: bool  # smaller nets outside the paper preset
    grammarvae_batch_norm: bool  # GrammarVAE's recipe puts batch norm into this task's nets
    picture: Callable[[str], bytes] | None = None  # a PNG of an item for the reports

    def valid(self, item: str) -> bool:
        """Whether a decoded string counts as valid (the objective's rule)."""
        return bool(item) and bool(self.objective([]).valid(item))

    @property
    def average_rule(self) -> str:
        """How Figure 2's average is taken, as bo.json records it (part of its protocol)."""
        return f"grammarvae (worst over {self.worst_over})"


SEQUENCE_TASKS: dict[str, SequenceTask] = {
    task.name: task
    for task in (
        SequenceTask(
            name="expressions",
            item="expression",
            grammar=EXPRESSION_GRAMMAR,
            char_max_length=19,
            read_strings=_expression_strings,
            objective=_expression_objective,
            lower_is_better=True,
            score_sense="log(1 + MSE), lower is better",
            validity="grammarvae (derives from the grammar and evaluates at x = 0)",
            same=expression_key,
            known=str,
            draws=25,
            worst_over="all",
            standardised=False,
            cpu_net=False,
            grammarvae_batch_norm=True,
        ),
        SequenceTask(
            name="molecules",
            item="molecule",
            grammar=ZINC_GRAMMAR,
            char_max_length=120,
            read_strings=_molecule_strings,
            objective=_molecule_objective,
            lower_is_better=False,
            score_sense="penalised logP, higher is better",
            validity="rdkit parses it into a molecule",
            same=molecule_key,
            known=molecule_key,
            draws=500,
            worst_over="run",
            standardised=True,
            cpu_net=True,
            grammarvae_batch_norm=False,
            picture=_molecule_png,
        ),
    )
}


def sequence_task(name: str) -> SequenceTask:
    """The row of sequence task `name` ('expressions' or 'molecules')."""
    if name not in SEQUENCE_TASKS:
        raise unknown("sequence task", name, SEQUENCE_TASKS)
    return SEQUENCE_TASKS[name]
