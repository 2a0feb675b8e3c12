"""At a read-back, money moves only after a phrase from the closed yes-list or the confirm button.

The worst classifier is assumed: the parser here calls *every* utterance ``affirm`` with confidence
0.99 (slots still come from the real entity rules), so nothing but the consent check stands between
a random utterance and the money. The conversation runs through the real dialog, the real transfer
definition, the real gate and the real sandbox bank (SQLite). Oracle: the transfer ran if and only
if a yes-list phrase or the button came at the read-back; before that, nothing moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vtm.config import Settings
from vtm.dialog.confirmation import ExplicitYes
from vtm.dialog.content import load_dialog_content
from vtm.dialog.prompts import Lang
from vtm.kiosk.testing import ConversationRunner
from vtm.nlu.entities import extract_entities
from vtm.nlu.types import NluResult

ROOT = Path(__file__).resolve().parents[2]
CARD, PIN = "6230887828564293883", "507798"  # John Smith in the demo bank (docs/demo-cards.md)
SETUP = [{"device": f"insert_card {CARD}"}, {"say": "I want to transfer money to Margaret Thompson"},
         {"device": f"pin {PIN}"}, {"say": "800"}, {"say": "standard"}, {"say": "got it"}]
NOT_YES = ["hold on", "um", "等一下", "嗯…", "' OR 1=1 --", "。。。", "一", "wait", "is that right?", "yes but wait",
           "hmm", "对吗", "可以吗", "[MUSIC]", "ok no", "let me think"]
YES = ["yes", "yes, go ahead", "that's correct", "对", "确认", "OK"]


class AffirmEverything:
    """A classifier at its worst: everything is ``affirm`` (except the request that starts the transfer)."""

    def parse(self, text: str, lang: Lang | None = None, today: date | None = None) -> NluResult:
        language: Lang = lang or "en"
        intent = "transfer_money" if "transfer money" in text else "affirm"
        slots = extract_entities(text, language, today or date.today())
        return NluResult(text=text, lang=language, intent=intent, confidence=0.99, slots=list(slots))


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationRunner]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("consent"), content_dir=ROOT)
    conversation_runner = ConversationRunner(settings, nlu=AffirmEverything())
    yield conversation_runner
    conversation_runner.close()


@pytest.fixture(scope="module")
def consent() -> ExplicitYes:
    return ExplicitYes.from_content(load_dialog_content(ROOT / "dialogs" / "dialog.yaml").confirmation)


answers = st.lists(
    st.one_of(st.sampled_from(NOT_YES), st.sampled_from(YES), st.just("/button confirm"),
              st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)),
    min_size=1, max_size=4,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers)
def test_money_moves_only_after_a_yes_list_phrase_or_the_button(
    runner: ConversationRunner, consent: ExplicitYes, tmp_path: Path, answers: list[str]
) -> None:
    turns = list(SETUP)
    for answer in answers:
        turns.append({"device": "button confirm"} if answer == "/button confirm" else {"say": answer})
    script = tmp_path / f"c{abs(hash(tuple(answers)))}.yaml"
    script.write_text(yaml.safe_dump({"name": "consent", "lang": "en", "turns": turns}, allow_unicode=True))
    result = runner.run(script)
    assert not [f for f in result.failures if "crashed" in f or "incident" in f], result.failures
    moved_at = [i for i, rec in enumerate(result.turns) if any(op["operation"] == "transfer" for op in rec.operations)]
    read_back = len(SETUP) + 1  # result.turns[0] is the welcome
    consented = [read_back + i for i, answer in enumerate(answers)
                 if answer == "/button confirm" or consent.match(answer, "en") is not None]
    assert result.turns[read_back - 1].state == "transfer.confirm"  # the answers really come at the read-back
    if moved_at:
        assert consented, f"money moved without a yes: {answers}"
        assert moved_at[0] >= consented[0]
    else:
        # No yes before the second unclear answer, which turns the read-back into "cancel it?".
        assert not consented or consented[0] > read_back + 1 or result.turns[-1].state != "transfer.confirm"
