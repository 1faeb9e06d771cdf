"""The example outside project stays outside: it imports none of our packages, and its
lock file carries the test kit's current dependencies (``uv sync --frozen`` there does not
re-read the kit's pyproject: a dependency added to the kit needs `uv lock` in the example)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "order-system"
OURS = {"shared", "services", "console", "billing_cli", "demo", "tests"}


def test_the_example_imports_nothing_of_ours_but_the_kit() -> None:
    files = sorted(EXAMPLE.glob("order_system/**/*.py")) + sorted(EXAMPLE.glob("tests/**/*.py"))
    assert len(files) >= 4
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                assert name.split(".")[0] not in OURS, f"{path.relative_to(ROOT)} imports {name}"


def test_the_examples_lock_has_the_kits_dependencies() -> None:
    kit = tomllib.loads((ROOT / "testkit" / "pyproject.toml").read_text())["project"]["dependencies"]
    lock = tomllib.loads((EXAMPLE / "uv.lock").read_text())
    (entry,) = [p for p in lock["package"] if p["name"] == "billing-testkit"]
    assert entry["source"] == {"editable": "../../testkit"}
    locked = sorted(f"{d['name']}{d.get('specifier', '')}" for d in entry["metadata"]["requires-dist"])
    assert locked == sorted(d.replace(" ", "") for d in kit), "run `uv lock` in examples/order-system"
