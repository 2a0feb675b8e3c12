"""Every prompt the code can say exists in both languages: a missing key would crash a customer's turn.

The walk reads the engine's source: every string literal shaped like a prompt key (``repair.no_match.1``)
must be a key of the catalog, and every f-string key (``f"invalid.{name}.{reason}"``) must match at least
one. Keys built from enums are checked against the enums themselves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from vtm.dialog.prompts import PromptCatalog
from vtm.nlu.types import InvalidReason

ROOT = Path(__file__).resolve().parents[3]
_FAMILIES = ("auth", "balance", "card_loss", "confirm", "error", "gate", "handoff", "help", "invalid", "repair",
             "revoke", "session", "statement", "transfer", "compliance", "knowledge")
# Reply labels whose text is not a prompt: the referral reasons, and the knowledge base's own answers.
_NOT_PROMPTS = {"gate.refer", "knowledge.answer", "knowledge.declined"}
_KEY = re.compile(rf"^(?:{'|'.join(_FAMILIES)})(?:\.[a-z0-9_]+)+$")
_ENGINE = ["vtm/dialog", "vtm/kiosk", "vtm/rasa", "vtm/flows"]


@pytest.fixture(scope="module")
def catalog() -> PromptCatalog:
    return PromptCatalog.load(ROOT)


def _literals() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    plain: list[tuple[str, str]] = []
    patterns: list[tuple[str, str]] = []
    for folder in _ENGINE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEY.match(node.value):
                    plain.append((where, node.value))
                elif isinstance(node, ast.JoinedStr):
                    parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in node.values]
                    pattern = "".join(parts)
                    head = node.values[0]
                    if isinstance(head, ast.Constant) and str(head.value).split(".")[0] in _FAMILIES \
                            and "." in str(head.value):
                        patterns.append((where, pattern))
    return plain, patterns


def test_the_walk_finds_the_call_sites() -> None:
    plain, patterns = _literals()
    assert len(plain) > 60  # a walk that finds nothing proves nothing
    assert any(p == r"invalid\.[a-z0-9_]+\.[a-z0-9_]+" for _, p in patterns)


def test_every_literal_prompt_key_in_the_engine_exists(catalog: PromptCatalog) -> None:
    plain, _ = _literals()
    known = catalog.keys()
    # A literal may also be a prefix the code extends or tests (``"transfer.arrival"`` + value,
    # ``startswith("session.language")``): accept a prefix of a known key. ``gate.refer`` labels a reply whose
    # text is the referral reasons themselves (compliance prompts), never rendered by that key.
    missing = sorted({f"{where}: {key}" for where, key in plain
                      if key not in known and key not in _NOT_PROMPTS and not any(k.startswith(key) for k in known)})
    assert not missing, missing


def test_every_f_string_prompt_key_matches_a_prompt(catalog: PromptCatalog) -> None:
    _, patterns = _literals()
    known = catalog.keys()
    unmatched = sorted({f"{where}: {p}" for where, p in patterns
                        if not any(re.fullmatch(p, key) for key in known)})
    assert not unmatched, unmatched


@pytest.mark.parametrize("reason", list(InvalidReason))
def test_every_reason_a_value_can_be_refused_for_has_a_general_prompt(catalog: PromptCatalog,
                                                                        reason: InvalidReason) -> None:
    assert catalog.has(f"invalid.{reason.value}")
    for lang in ("zh", "en"):
        assert catalog.render(f"invalid.{reason.value}", lang)


def test_the_lengths_customers_really_say_have_their_own_prompts(catalog: PromptCatalog) -> None:
    # The outside probe crashed the kiosk with a 15-digit card number and a 20-digit account number.
    assert catalog.has("invalid.card_number.length")
    assert catalog.has("invalid.account_number.length")
