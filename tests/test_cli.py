"""The command line: help, translation, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if home is not None:
        env["TAXON_HOME"] = str(home)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_help_lists_the_sub_commands():
    result = run_cli("--help", "--lang", "en")
    assert result.returncode == 0
    assert "classify" in result.stdout and "usage: taxon" in result.stdout


def test_help_is_translated_with_lang():
    result = run_cli("--lang", "zh_CN", "--help")
    assert result.returncode == 0
    assert "用法" in result.stdout and "显示此帮助信息并退出" in result.stdout
    assert "classify" in result.stdout
    arabic = run_cli("--help", "--lang=ar")
    assert "الاستخدام" in arabic.stdout


def test_usage_errors_exit_2_with_a_translated_message():
    result = run_cli("--lang", "zh_CN", "classify")
    assert result.returncode == 2
    assert "错误" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_exits_2():
    assert run_cli("frobnicate", "--lang", "en").returncode == 2
