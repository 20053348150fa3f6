"""Outputs never destroy an input and are never left half-written under their final name."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

ROSTER = ROOT / "examples" / "roster" / "roster.csv"


def _copy_roster(tmp_path: Path) -> Path:
    target = tmp_path / "s.csv"
    target.write_bytes(ROSTER.read_bytes())
    return target


@pytest.mark.parametrize("command", ["roster", "mobilise"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(cli, tmp_path, command):
    roster = _copy_roster(tmp_path)
    before = roster.read_bytes()
    run = cli(command, str(roster), "-o", str(roster))
    assert run.returncode == 2, run.stderr
    assert "就是输入文件" in run.stderr
    assert str(roster) in run.stderr
    assert roster.read_bytes() == before


@pytest.mark.parametrize("command", ["roster", "mobilise", "readiness"])
def test_an_output_that_is_the_measures_file_is_refused_and_the_file_kept(cli, tmp_path, command):
    """The measures file is an input too: a policy officer's copy named like an output (here
    ``measures.csv``) is never written over, from the command line or the library."""
    import policy_kb

    measures = tmp_path / "measures.csv"
    measures.write_bytes((ROOT / "measures.yaml").read_bytes())
    before = measures.read_bytes()
    run = cli(
        command, str(ROSTER), "--measures", str(measures), "-o", str(measures), "--lang", "en"
    )
    assert run.returncode == 2, run.stderr
    assert f"the output {measures} is the input file {measures}" in run.stderr
    assert measures.read_bytes() == before
    with pytest.raises(policy_kb.OutputError):
        policy_kb.load(measures).roster(ROSTER, output=measures)
    assert measures.read_bytes() == before


def test_an_output_through_a_symlink_to_the_input_is_refused(cli, tmp_path):
    roster = _copy_roster(tmp_path)
    link = tmp_path / "link.csv"
    link.symlink_to(roster)
    before = roster.read_bytes()
    run = cli("roster", str(roster), "-o", str(link), "--lang", "en")
    assert run.returncode == 2
    assert f"the output {link} is the input file {roster}" in run.stderr
    assert roster.read_bytes() == before
    assert link.is_symlink()


def test_a_hard_link_to_the_input_is_refused_for_the_chart_too(cli, tmp_path):
    roster = _copy_roster(tmp_path)
    other = tmp_path / "same.png"
    os.link(roster, other)
    run = cli("progress", str(roster), "--chart", str(other), "--lang", "en")
    assert run.returncode == 2
    assert "is the input file" in run.stderr
    assert other.read_bytes() == ROSTER.read_bytes()


def test_a_missing_output_folder_is_named_as_typed(cli, tmp_path):
    run = cli("roster", str(ROSTER), "-o", "no-such-folder/out.csv", "--lang", "en", cwd=tmp_path)
    assert run.returncode == 2
    assert "the folder no-such-folder of the output no-such-folder/out.csv does not exist" in (
        run.stderr
    )
    assert ".part" not in run.stderr
    assert "tmp" not in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_successful_run_leaves_only_the_output(cli, tmp_path):
    run = cli("roster", str(ROSTER), "-o", str(tmp_path / "out.parquet"))
    assert run.returncode == 0, run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_formula_like_names_are_neutralised_in_csv_outputs(cli, tmp_path):
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    rows[1][0] = '=HYPERLINK("http://example.com","点我")'
    rows[2][0] = "@SUM(A1)"
    hostile = tmp_path / "hostile.csv"
    with hostile.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    run = cli("roster", str(hostile), "-o", str(tmp_path / "out.csv"))
    assert run.returncode == 0, run.stderr
    names = [r["name"] for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))]
    assert names[0] == '\'=HYPERLINK("http://example.com","点我")'
    assert names[1] == "'@SUM(A1)"
    assert names[2] == rows[3][0]  # an ordinary name is untouched


def _big_roster(path: Path, copies: int) -> None:
    lines = ROSTER.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for _ in range(copies):
            fh.write("\n".join(body) + "\n")


def _writing(tmp_path: Path, suffix: str, copies: int, **popen: Any) -> subprocess.Popen[str]:
    """``policy-kb roster`` of a big roster into ``out{suffix}``, once it has begun writing."""
    big = tmp_path / "big.csv"
    _big_roster(big, copies)
    out = tmp_path / f"out{suffix}"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "policy_kb", "roster", str(big), "-o", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        **popen,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(f".out{suffix}.*.part")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.01)
    return proc


@pytest.mark.parametrize(
    ("suffix", "stop", "code"),
    [
        (".csv", signal.SIGINT, 130),
        (".parquet", signal.SIGINT, 130),
        (".parquet", signal.SIGTERM, 143),  # a service manager or a job scheduler stopping it
    ],
)
def test_an_interrupted_roster_leaves_no_output(tmp_path, suffix, stop, code):
    out = tmp_path / f"out{suffix}"
    # large enough that the write is still going when the signal comes
    proc = _writing(tmp_path, suffix, 600)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "已中断" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


def test_a_second_ctrl_c_does_not_cut_the_cleaning_short(tmp_path):
    """Ctrl-C twice in quick succession (a user, or pyarrow's reader sending the one it caught
    again): the run stops once, says so, exits 130 and leaves no file behind."""
    proc = _writing(tmp_path, ".parquet", 600)
    for pause in (0.0, 0.002, 0.01, 0.03):
        proc.send_signal(signal.SIGINT)
        time.sleep(pause)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.count("已中断") == 1
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


def test_a_signal_stops_a_command_once(monkeypatch):
    from policy_kb.serve import cli as module

    # as in a terminal, whatever the test runner inherited (a background job ignores SIGINT,
    # which _stop_once rightly keeps: see test_an_ignored_ctrl_c_stays_ignored)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = module._stop_once()
    assert previous is not None
    try:
        stop = signal.getsignal(signal.SIGINT)
        assert callable(stop)
        with pytest.raises(KeyboardInterrupt) as first:
            stop(signal.SIGINT, None)
        assert type(first.value) is KeyboardInterrupt
        assert stop(signal.SIGINT, None) is None  # the echo: not raised again
        assert stop(signal.SIGTERM, None) is None
        monkeypatch.setattr(module, "REPEAT_SECONDS", 0.0)
        with pytest.raises(module._Terminated):  # a repeat later than that is raised
            stop(signal.SIGTERM, None)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        restored = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, inherited)
    assert restored is signal.default_int_handler


def test_control_characters_in_a_name_never_reach_the_terminal(cli, tmp_path):
    """A name holding escapes (clear the screen, recolour) is refused, and the refusal quotes it
    escaped; a zero-width space is no control character and is shown escaped."""
    path = tmp_path / "p.yaml"
    path.write_text('name: "A\\e[2J\\e[31mB\\u200b"\n', encoding="utf-8")
    run = cli("match", str(path))
    assert run.returncode == 2, run.stderr
    assert "\x1b" not in run.stderr
    assert "\u200b" not in run.stderr
    assert "A\\x1b[2J\\x1b[31mB\\u200b" in run.stderr
    path.write_text('name: "AB\\u200b"\n', encoding="utf-8")
    shown = cli("match", str(path))
    assert shown.returncode == 0, shown.stderr
    assert "\u200b" not in shown.stdout
    assert "AB\\u200b" in shown.stdout


def test_machine_formats_keep_names_exactly_as_given(kb, tmp_path):
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    rows[1][0] = "=SUM(A1)"
    hostile = tmp_path / "hostile.csv"
    with hostile.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:3])
    import polars as pl

    kb.roster(hostile, output=tmp_path / "out.parquet")
    assert pl.read_parquet(tmp_path / "out.parquet")["name"].to_list()[0] == "=SUM(A1)"


def test_an_ignored_ctrl_c_stays_ignored(tmp_path):
    """A command started with SIGINT ignored (`cmd &` in a script, trap '' INT) ignored Ctrl-C
    before the stop-once handler, which took it over: it is left as the parent set it."""
    out = tmp_path / "out.parquet"
    ignore = signal.SIG_IGN
    proc = _writing(
        tmp_path, ".parquet", 150, preexec_fn=lambda: signal.signal(signal.SIGINT, ignore)
    )
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "已中断" not in err
    assert out.exists()


def test_a_new_output_follows_the_umask_and_a_replaced_one_keeps_its_mode(cli, tmp_path):
    """New outputs were made 0644 whatever the umask (found by a hostile-input review): under
    umask 077 a roster's answers, enterprises' finances, were readable by every user."""
    out, kept = tmp_path / "new.csv", tmp_path / "kept.csv"
    kept.write_text("old", "utf-8")
    kept.chmod(0o640)
    old = os.umask(0o077)
    try:
        for target in (out, kept):
            run = cli("roster", str(ROSTER), "-o", str(target))
            assert run.returncode == 0, run.stderr
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o600
    assert kept.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ("list.xlsx", "the output {out} ends in .xlsx: this command writes CSV, name it with .csv"),
        ("list", "the output {out} ends in '': this command writes CSV, name it with .csv"),
        ("list.csv/", "the output {out} is a folder, not a file name"),
        ("", "the output's name is empty: name the file to write"),
    ],
)
def test_a_csv_list_is_written_under_a_csv_name_only(cli, tmp_path, output, said):
    """mobilise and readiness wrote CSV under any name (.xlsx, .parquet, none), 'list.csv/' as a
    file and '' as 'the output  is a folder' (found by a hostile-input review)."""
    target = f"{tmp_path}/{output}" if output else ""
    for command in ("mobilise", "readiness"):
        run = cli(command, str(ROSTER), "-o", target, "--lang", "en")
        assert run.returncode == 2, run.stderr
        assert run.stderr.strip().splitlines()[-1] == said.format(out=target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("failing", "error", "zh", "en"),
    [
        ("replace", OSError(28, "No space left on device"), "磁盘已满", "the disk is full"),
        ("open", OSError(30, "Read-only file system"), "文件系统是只读的", "read-only"),
        (
            "replace",
            OSError("No space left on device (os error 28)"),
            "磁盘已满",
            "the disk is full",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_named_and_said_as_a_write(
    tmp_path, monkeypatch, failing, error, zh, en
):
    """A full disk or a read-only folder said '<.out.csv.4f6e….part>: cannot be read', or named
    no file at all and quoted the system's English (found by a hostile-input review)."""
    from policy_kb import files
    from policy_kb.errors import OutputError

    target = tmp_path / "out.csv"
    target.write_text("kept\n", "utf-8")

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(files.os, failing, fail)
    with pytest.raises(OutputError) as info:
        files.write_text(target, "new\n")
    monkeypatch.undo()
    assert info.value.render("zh") == f"{target}：无法写入（{zh}）；原有文件保持不变"
    assert info.value.render("en").startswith(f"{target}: cannot be written (")
    assert en in info.value.render("en").lower()
    assert target.read_text("utf-8") == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no part file left
