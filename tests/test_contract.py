"""The OpenAPI contract against the real server, by Schemathesis (a client nobody here wrote).

Every check, every phase (examples, coverage, fuzzing, stateful), against ``policy-kb serve`` in
a child process; the two exceptions that JSON Schema cannot express are in
``tests/contract/schemathesis.toml``, with the reason. A fixed seed keeps CI reproducible; run
``schemathesis --config-file tests/contract/schemathesis.toml run URL/openapi.json`` for a
fresh one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import serving

CONFIG = Path(__file__).parent / "contract" / "schemathesis.toml"


def test_schemathesis_finds_nothing():
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert found, "the test extra installs schemathesis"
    with serving() as base:
        run = subprocess.run(
            [
                found,
                "--config-file",
                str(CONFIG),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "60",
                "--seed",
                "20211",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in summary
    assert "Failures:" not in summary
    assert "Errors:" not in summary
    tested = next(line for line in summary.splitlines() if "Tested:" in line).split()[-1]
    selected = next(line for line in summary.splitlines() if "Selected:" in line).split()[-1]
    assert selected == f"{tested}/{tested}"  # every operation of the API was tested
    assert int(tested) >= 13


def test_a_generated_python_client_types_every_response(tmp_path):
    """openapi-python-client, from the served document: every JSON answer is a typed model."""
    import importlib

    import httpx

    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator, "the test extra installs openapi-python-client"
    with serving() as base:
        spec = tmp_path / "openapi.json"
        spec.write_text(httpx.get(f"{base}/openapi.json").text, encoding="utf-8")
        run = subprocess.run(
            [generator, "generate", "--path", str(spec), "--meta", "none"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)},
        )
        assert run.returncode == 0, run.stdout + run.stderr
        package = tmp_path / "policy_kb_client"
        untyped = [
            f"{path.relative_to(package)}:{n}"
            for path in sorted((package / "api").rglob("*.py"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if "cast(Any" in line
        ]
        assert untyped == []
        sys.path.insert(0, str(tmp_path))
        try:
            client_mod = importlib.import_module("policy_kb_client")
            api = importlib.import_module("policy_kb_client.api.evaluate.evaluate")
            batch_api = importlib.import_module("policy_kb_client.api.evaluate.evaluate_batch")
            measure_api = importlib.import_module("policy_kb_client.api.catalogue.measure")
            models = importlib.import_module("policy_kb_client.models")
            client = client_mod.Client(base_url=base, timeout=httpx.Timeout(30))
            profile = {"employees": 120, "tech_sme_registered": True, "rd_expense": 3_000_000}
            answer = api.sync(client=client, body=models.Profile.from_dict(profile))
            assert type(answer).__name__ == "PolicyKbEvaluation"
            assert answer.year == 2021
            assert {m.id for m in answer.measures} >= {"KM1", "KM7"}
            batch = batch_api.sync(client=client, body=[profile, {"employees": -1}])
            assert isinstance(batch, models.BatchAnswer)
            assert [type(item).__name__ for item in batch.results] == ["BatchItem", "BatchItem"]
            assert [item.ok for item in batch.results] == [True, False]
            km7 = measure_api.sync(client=client, measure_id="KM7")
            assert isinstance(km7, models.MeasureDetail)
            assert km7.id == "KM7"
            missing = measure_api.sync(client=client, measure_id="KM99")
            assert isinstance(missing, models.Problem)
            assert missing.status == 404
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m.startswith("policy_kb_client")]:
                del sys.modules[name]
