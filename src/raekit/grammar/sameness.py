"""When two proposals are the same item: molecules with one canonical SMILES, expressions with
equal values at the task's points (`x+1+sin(4)` and `1+x+sin(2+2)` are one function)."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from raekit.grammar.scores import evaluate_expression


def molecule_key(smiles: str) -> str:
    """rdkit's canonical SMILES (the string itself when rdkit cannot read it)."""
    # the grammar extra
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return smiles if mol is None else Chem.MolToSmiles(mol)


def expression_key(expression: str) -> Hashable:
    """The expression's values at the task's 1000 points, to 10 significant digits (float
    rounding of `x*1` and `1*x` does not separate them); the string when it does not parse."""
    values = evaluate_expression(expression)
    if values is None:
        return expression
    with np.errstate(all="ignore"):
        rounded = np.array([float(f"{v:.10g}") for v in values])
    return rounded.tobytes()
