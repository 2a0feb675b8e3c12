"""The README's run command works as written: it sets up, seeds and shows the bank, and the kiosk
answers a customer typed on standard input (the test command is what CI itself runs)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_exactly_the_two_scripts() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.+?)\n```", readme, flags=re.S)
    assert commands[:2] == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow
def test_run_command_seeds_shows_the_bank_and_serves_a_customer(tmp_path: Path) -> None:
    customer = "\n".join(["/insert_card 6230887983054949930", "查一下余额", "/pin 955756", "/quit", ""])
    env = {**os.environ, "VTM_DATA_DIR": str(tmp_path)}
    result = subprocess.run(["bash", "scripts/run.sh", "--lang", "zh"], cwd=ROOT, input=customer, env=env,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "6230887983054949930" in out
    assert "955756" in out
    assert "示例银行 sandbox bank" in out  # and the bank itself
    assert "余额" in out
    assert "可用余额" in out
