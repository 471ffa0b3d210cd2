"""No function or method of raekit is longer than 60 lines, from its `def` to its last line
(docstring included), read from the source with ast."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "raekit"
LIMIT = 60


def long_functions(root: Path, limit: int = LIMIT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(
                        f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length})"
                    )
    return found


def test_no_function_is_over_60_lines():
    assert not long_functions(SRC), "functions over 60 lines:\n" + "\n".join(long_functions(SRC))


def test_the_check_counts_every_line_of_a_nested_function(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "m.py").write_text(
        f"class A:\n    def f(self):\n{body}\n\n\ndef g():\n    return 1\n"
    )
    assert long_functions(tmp_path) == [f"{tmp_path.name}/m.py:2 f ({LIMIT + 1})"]
