"""Answers quote the figures the kiosk actually applies: change the policy, the answer follows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from knowledge_helpers import CharEncoder, edit, without_classifier

from vtm.knowledge.base import KnowledgeBase
from vtm.knowledge.figures import render_money
from vtm.knowledge.loader import load_knowledge


def spoken(root: Path, entry_id: str, lang: str) -> str:
    entry = next(e for e in load_knowledge(root).entries if e.id == entry_id)
    return entry.spoken.zh if lang == "zh" else entry.spoken.en


def test_changing_the_daily_limit_in_the_policy_changes_the_answer(content_copy: Path) -> None:
    assert "RMB 50,000 per day" in spoken(content_copy, "transfers.daily_limit", "en")
    assert "5万元" in spoken(content_copy, "transfers.daily_limit", "zh")
    policy = content_copy / "compliance" / "policy.yaml"
    edit(policy, 'params: {max_daily: "50000.00"}', 'params: {max_daily: "30000.00"}')
    assert "RMB 30,000 per day" in spoken(content_copy, "transfers.daily_limit", "en")
    assert "3万元" in spoken(content_copy, "transfers.daily_limit", "zh")


def test_changing_the_pin_lockout_changes_every_answer_quoting_it(content_copy: Path) -> None:
    policy = content_copy / "compliance" / "policy.yaml"
    edit(policy, "params: {max_failed_attempts: 3}", "params: {max_failed_attempts: 5}")
    content = load_knowledge(content_copy)
    quoting = [e for e in content.entries if e.id in {"pin.locked", "pin.attempts"}]
    assert len(quoting) == 2
    assert all("5次" in e.spoken.zh and "5 wrong" in e.spoken.en for e in quoting)


def test_the_temporary_report_validity_follows_the_dialog_setting(content_copy: Path) -> None:
    edit(content_copy / "dialogs" / "dialog.yaml", "temporary_loss_days: 5\n", "temporary_loss_days: 15\n")
    assert spoken(content_copy, "card_loss.temporary_validity", "zh").startswith("临时挂失15天内有效")
    assert "valid for 15 days" in spoken(content_copy, "card_loss.temporary_validity", "en")


def test_turning_real_time_arrival_off_swaps_the_answer_for_the_one_that_says_so(content_copy: Path) -> None:
    before = load_knowledge(content_copy)
    assert "transfers.realtime" in {e.id for e in before.entries}
    assert before.inactive == ("transfers.realtime_unavailable",)
    policy = content_copy / "compliance" / "policy.yaml"
    edit(policy, "params: {allow_realtime: true}", "params: {allow_realtime: false}")
    after = load_knowledge(content_copy)
    ids = {e.id for e in after.entries}
    assert "transfers.realtime_unavailable" in ids
    assert "transfers.realtime" not in ids
    # Ranked, not asked: the answer thresholds are calibrated for e5, not for the test's char encoder.
    _, ranked = KnowledgeBase(without_classifier(after), CharEncoder()).rank("能不能马上到账", "zh")
    assert ranked[0].entry_id == "transfers.realtime_unavailable"
    assert "不能选实时到账" in next(e for e in after.entries if e.id == ranked[0].entry_id).spoken.zh


@pytest.mark.parametrize(
    ("amount", "zh", "en"),
    [("50000", "5万元", "RMB 50,000"), ("500000.00", "50万元", "RMB 500,000"), ("12500", "12500元", "RMB 12,500"),
     ("999.50", "999.50元", "RMB 999.50"), ("5000", "5000元", "RMB 5,000")],
)
def test_money_reads_naturally_in_both_languages(amount: str, zh: str, en: str) -> None:
    assert render_money(Decimal(amount), "zh") == zh
    assert render_money(Decimal(amount), "en") == en
