"""Checks of systemd/xiaozhi-memd.service.

(a) the hardening settings the install guide promises are present with the right values,
(b) `systemd-analyze verify` accepts the unit with no complaint about it,
(c) `systemd-analyze security --offline=true` rates its exposure below 3.0.

(b) and (c) run the real systemd-analyze (Debian package `systemd`) and are skipped only
when it is not installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "xiaozhi-memd.service"
UNIT_NAME = "xiaozhi-memd.service"
MAX_EXPOSURE = 3.0

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian package `systemd`)",
)


# --------------------------------------------------------------------------- parsing


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Parse a unit file into {section: [(key, value), ...]} keeping repeated keys.

    configparser cannot be used as is: systemd allows (and this unit uses) the same key
    several times, and an empty assignment (``CapabilityBoundingSet=``) is meaningful.
    """
    sections: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):  # continuation line
            pending = line[:-1].rstrip() + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        assert current is not None, f"assignment outside a section: {line!r}"
        assert "=" in line, f"not a key=value line: {line!r}"
        key, value = line.split("=", 1)
        sections[current].append((key.strip(), value.strip()))
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def values(unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def single(unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert found, f"[{section}] {key}= is missing"
    assert len(found) == 1, f"[{section}] {key}= is set {len(found)} times: {found}"
    return found[0]


def environment(unit) -> dict[str, str]:
    env: dict[str, str] = {}
    for assignment in values(unit, "Service", "Environment"):
        for word in shlex.split(assignment):
            name, _, val = word.partition("=")
            env[name] = val
    return env


# ------------------------------------------------------------------- (a) the settings

SERVICE_SETTINGS = {
    "DynamicUser": "yes",
    "StateDirectory": "xiaozhi-memd",
    "StateDirectoryMode": "0700",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "Restart": "on-failure",
    "RestartSec": "5",
    "TimeoutStopSec": "30",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "UMask": "0077",
    "PrivateUsers": "yes",
    "SystemCallErrorNumber": "EPERM",
}


@pytest.mark.parametrize(("key", "expected"), sorted(SERVICE_SETTINGS.items()))
def test_service_setting(unit, key, expected):
    assert single(unit, "Service", key) == expected


def test_type_and_exec_start(unit):
    assert single(unit, "Service", "Type") in {"exec", "simple"}
    argv = shlex.split(single(unit, "Service", "ExecStart"))
    assert argv == [
        "/opt/xiaozhi-memd/.venv/bin/xiaozhi-memd",
        "serve",
        "--config",
        "/etc/xiaozhi-memd/config.yaml",
    ]


def test_data_dir_is_the_state_directory(unit):
    env = environment(unit)
    assert env["XIAOZHI_MEMD_DATA_DIR"] == "/var/lib/xiaozhi-memd"
    # StateDirectory=NAME is /var/lib/NAME for a system service.
    assert env["XIAOZHI_MEMD_DATA_DIR"] == "/var/lib/" + single(unit, "Service", "StateDirectory")
    assert env["XIAOZHI_MEMD_MODELS_DIR"] == "/opt/xiaozhi-memd/models"


def test_address_families(unit):
    family_lines = values(unit, "Service", "RestrictAddressFamilies")
    assert len(family_lines) == 1, family_lines
    assert set(family_lines[0].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}


def test_system_call_filter(unit):
    filters = values(unit, "Service", "SystemCallFilter")
    allowed = {w for f in filters if not f.startswith("~") for w in f.split()}
    denied = {w for f in filters if f.startswith("~") for w in f[1:].split()}
    assert allowed == {"@system-service"}
    assert {"@privileged", "@resources"} <= denied


def test_unit_and_install_sections(unit):
    assert "network-online.target" in " ".join(values(unit, "Unit", "After")).split()
    assert "network-online.target" in " ".join(values(unit, "Unit", "Wants")).split()
    assert single(unit, "Install", "WantedBy") == "multi-user.target"


def test_memory_deny_write_execute_is_a_decision(unit):
    # Left off on purpose (PyTorch's oneDNN JIT needs W+X memory), but the unit must say so.
    text = UNIT.read_text(encoding="utf-8")
    assert values(unit, "Service", "MemoryDenyWriteExecute") in ([], ["yes"])
    assert "MemoryDenyWriteExecute" in text


def test_parser_keeps_repeats_and_empty_values():
    parsed = parse_unit("[S]\n# c\nA=1\nA=2\nB=\nC=x \\\n  y\n")
    assert parsed == {"S": [("A", "1"), ("A", "2"), ("B", ""), ("C", "x y")]}


# ---------------------------------------------------------------- systemd-analyze runs


def real_executable() -> list[str]:
    """argv prefix of a real executable on this machine to stand in for /opt/... ."""
    script = shutil.which("xiaozhi-memd") or shutil.which(
        "xiaozhi-memd", path=str(Path(sys.executable).parent)
    )
    if script:
        return [script]
    return [sys.executable, "-m", "daemon.cli"]


def make_testable_copy(directory: Path, extra_lines: str = "") -> Path:
    """Copy the unit into directory with ExecStart pointing at a real executable."""
    text = UNIT.read_text(encoding="utf-8")
    exec_start = shlex.join([*real_executable(), "serve", "--config", "/etc/xiaozhi-memd/config.yaml"])
    text, count = re.subn(r"(?m)^ExecStart=.*$", lambda _: "ExecStart=" + exec_start, text)
    assert count == 1
    if extra_lines:
        text = text.replace("[Service]\n", "[Service]\n" + extra_lines, 1)
    path = directory / UNIT_NAME
    path.write_text(text, encoding="utf-8")
    return path


def run_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="", SYSTEMD_LOG_COLOR="0")
    return subprocess.run(
        [SYSTEMD_ANALYZE, "--no-pager", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def lines_about_unit(output: str) -> list[str]:
    # In a container verify may also grumble about other units on the system: only lines
    # naming our unit (by file name or path) count.
    return [line for line in output.splitlines() if "xiaozhi-memd" in line]


@needs_systemd_analyze
def test_systemd_analyze_verify(tmp_path):
    path = make_testable_copy(tmp_path)
    result = run_analyze("verify", str(path))
    complaints = lines_about_unit(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not complaints, "\n".join(complaints)


@needs_systemd_analyze
def test_systemd_analyze_verify_reports_problems_in_our_unit(tmp_path):
    # Control: the filter above must actually see complaints about our unit.
    path = make_testable_copy(tmp_path, extra_lines="NoSuchSetting=1\n")
    result = run_analyze("verify", str(path))
    complaints = lines_about_unit(result.stdout + result.stderr)
    assert any("NoSuchSetting" in line for line in complaints), result.stdout + result.stderr


def offline_supported() -> bool:
    help_text = run_analyze("--help")
    return "--offline" in help_text.stdout + help_text.stderr


@needs_systemd_analyze
def test_systemd_analyze_security_exposure(tmp_path):
    if not offline_supported():
        pytest.skip("this systemd-analyze has no --offline (needs systemd >= 250)")
    path = make_testable_copy(tmp_path)
    result = run_analyze("security", "--offline=true", str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    match = re.search(r"Overall exposure level for \S+:\s*([0-9]+(?:\.[0-9]+)?)", output)
    assert match, output
    exposure = float(match.group(1))
    print(f"\nsystemd-analyze security --offline: exposure {exposure} (must be < {MAX_EXPOSURE})")
    assert exposure < MAX_EXPOSURE, output
