"""The code stays layered, ruff-clean, formatted and type-checked (mypy --strict on policy_kb)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["policy_kb", "tests", "benchmarks", "examples", "tools"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_ruff_check_is_clean():
    result = run("ruff", "check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = run("ruff", "format", "--check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean():
    result = run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_import_only_downward_and_no_module_imports_in_a_circle():
    """The contracts in pyproject.toml ([tool.importlinter]): serve → api → views → district →
    reason | graph → backends → policy → rules → errors → text, and acyclic siblings everywhere."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, policy_kb; policy_kb.load(); "
        "print(sorted(m for m in ('numpy', 'polars', 'pyarrow', 'owlready2', 'fastapi', 'rdflib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_scripts_import_only_what_the_package_has():
    """benchmarks/ and tools/ are not run by the suite; every name they take from policy_kb must
    still exist, so a moved module breaks this test instead of the next person's measurement."""
    import ast
    import importlib
    import importlib.util

    missing = []
    for script in sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("tools/*.py")]):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("policy_kb"):
                module = importlib.import_module(node.module or "")
                missing += [
                    f"{script.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if not hasattr(module, alias.name)
                    and importlib.util.find_spec(f"{node.module}.{alias.name}") is None
                ]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("policy_kb"):
                        importlib.import_module(alias.name)
    assert missing == []


def test_the_console_script_names_a_function_that_exists():
    import importlib
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    module, _, function = scripts["policy-kb"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
