"""The built wheel: it carries the policy, the ontology and the source text, and works alone.

The wheel is built with the project's own backend and unpacked into an empty directory; the
package is then run from there, in a directory without the checkout, as an installed copy would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (found,) = out.glob("policy_kb-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def run(
    installed: Path, cwd: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )


def test_wheel_carries_the_data_files(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        measures = zf.read("policy_kb/_data/measures.yaml").decode("utf-8")
    for name in (
        "policy_kb/_data/measures.yaml",
        "policy_kb/_data/ontology/policy_kb.ttl",
        "policy_kb/_data/ontology/wujin-tech-sme-2021.ttl",
        "policy_kb/_data/sources/000_6cc745b56c039c16.txt",
        "policy_kb/schemas/measures.schema.json",
        "policy_kb/schemas/evaluation.schema.json",
        "policy_kb/schemas/evaluation-summary.schema.json",
        "policy_kb/py.typed",
        "policy_kb/views/fonts/PolicyKBCJKSubset-Regular.otf",
        "policy_kb/views/fonts/OFL.txt",
        "policy_kb/serve/web/index.html",
        "policy_kb/serve/web/targets.html",
        "policy_kb/serve/web/app.js",
        "policy_kb/serve/web/style.css",
        "policy_kb/serve/web/favicon.svg",
    ):
        assert name in names
    assert measures == (ROOT / "measures.yaml").read_text(encoding="utf-8")


def test_installed_package_answers_without_the_checkout(installed, tmp_path):
    code = (
        "import policy_kb, json; kb = policy_kb.load(); "
        "print(json.dumps([policy_kb.__file__, len(kb.measures), len(kb.abox) > 0, "
        "kb.town('湖塘镇').target, len(kb.graph) > len(kb.abox)]))"
    )
    result = run(installed, tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    path, measures, abox, target, with_tbox = json.loads(result.stdout)
    assert path.startswith(str(installed))
    assert (measures, abox, target, with_tbox) == (12, True, 50, True)


def test_installed_command_line(installed, tmp_path):
    example = (ROOT / "examples" / "incubated_startup.yaml").read_text(encoding="utf-8")
    result = run(
        installed, tmp_path, "-m", "policy_kb", "match", "-", "--format", "json", stdin=example
    )
    assert result.returncode == 0, result.stderr
    assert "KM4.incubation_services" in json.loads(result.stdout)["summary"]["applicable_benefits"]
    validate = run(installed, tmp_path, "-m", "policy_kb", "validate")
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.startswith("measures.yaml：校验通过")
    english = run(installed, tmp_path, "-m", "policy_kb", "validate", "--lang", "en")
    assert english.stdout.startswith("measures.yaml: OK")


def test_installed_package_validates_an_edited_copy_elsewhere(installed, tmp_path):
    copy = tmp_path / "edited.yaml"
    copy.write_text(
        (ROOT / "measures.yaml")
        .read_text(encoding="utf-8")
        .replace("  total: 670", "  total: 600"),
        encoding="utf-8",
    )
    result = run(installed, tmp_path, "-m", "policy_kb", "validate", "edited.yaml", "--lang", "en")
    assert result.returncode == 2
    assert "edited.yaml:" in result.stderr
    assert "but the printed total is 600" in result.stderr


def test_installed_package_serves_the_calculator_and_finds_its_font(installed, tmp_path):
    code = (
        "import json; from fastapi.testclient import TestClient; "
        "from policy_kb.serve.http import create_app; from policy_kb.views import chart as _chart; "
        "c = TestClient(create_app()); "
        "pages = [c.get(p).status_code for p in ('/', '/targets', '/static/app.js')]; "
        "_chart._SYSTEM_FAMILIES = (); "  # no system font: the subset in the wheel must do
        "font = str(_chart.find_font(set('湖塘镇目标已入库'))[1]); "
        "print(json.dumps([pages, '政策计算器' in c.get('/').text, font]))"
    )
    result = run(installed, tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    pages, has_title, font = json.loads(result.stdout)
    assert pages == [200, 200, 200]
    assert has_title is True
    assert "PolicyKBCJKSubset-Regular.otf" in font


def test_the_wheels_console_script_runs(wheel, installed, tmp_path):
    """What `pip install` turns into the `policy-kb` command: the wheel's entry point, run as is."""
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry = zf.read(name).decode("utf-8")
    line = next(x for x in entry.splitlines() if x.startswith("policy-kb"))
    module, _, function = line.split("=", 1)[1].strip().partition(":")
    code = f"import sys, {module} as m; sys.exit(m.{function}(['validate', '--lang', 'en']))"
    result = run(installed, tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("measures.yaml: OK")
