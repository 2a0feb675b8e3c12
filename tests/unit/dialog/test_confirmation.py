"""Consent at a read-back is a closed list of phrases, never the classifier's ``affirm``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtm.dialog.confirmation import ExplicitYes, squash
from vtm.dialog.content import load_dialog_content

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def yes() -> ExplicitYes:
    return ExplicitYes.from_content(load_dialog_content(ROOT / "dialogs" / "dialog.yaml").confirmation)


# What an outside probe saw classified as `affirm` at a read-back, and more of the same kinds.
NOT_CONSENT = [
    # hesitation
    "等一下", "等等", "等会儿", "稍等", "我想想", "让我想一想", "hold on", "wait", "wait a second", "one moment",
    "let me think", "hang on",
    # fillers and mumbles alone
    "嗯", "嗯…", "嗯嗯", "呃", "啊", "um", "uh", "er", "hmm", "。。。", "…", "一", "",
    # questions and doubts
    "对吗", "可以吗", "是吗？", "对不对", "right?", "is that right?", "确认一下", "你确定吗", "what?", "多少钱来着",
    # no, and yes-then-no
    "不对", "不是", "不", "不行", "no", "nope", "yes but wait", "对 等一下", "好的，不过先别转", "ok no",
    # injection strings and noise
    "' OR 1=1 --", "'; DROP TABLE transfers; --", "<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://x}",
    "yesterday", "好多人", "行李", "可以走了吗", "[音乐]", "字幕由Amara.org社区提供",
    # the details alone, asked, or denied: naming what is confirmed is no yes
    "金额", "是他吗", "不是他", "是他弟弟", "对 但是金额不对", "金额名字都", "the right person",
    "is that the right account", "is it all correct", "that's not the right account", "it is not correct",
    "yes the amount is wrong",
]


@pytest.mark.parametrize("text", NOT_CONSENT)
def test_what_is_not_a_yes_never_confirms(yes: ExplicitYes, text: str) -> None:
    assert yes.match(text, "zh") is None
    assert yes.match(text, "en") is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [("对", "zh"), ("是的", "zh"), ("嗯，对的，转吧", "zh"), ("确认", "zh"), ("没错", "zh"), ("好的，确认转账", "zh"),
     ("對", "zh"), ("Yes.", "en"), ("yes, go ahead", "en"), ("That's correct.", "en"), ("OK", "en"),
     ("yeah sure", "en"), ("um, yes please", "en"), ("对", "en"), ("yes", "zh"),
     # a yes with the details named around it
     ("对 是他", "zh"), ("是 就这个人", "zh"), ("对 金额名字都对 转吧", "zh"), ("係呀 冇錯", "zh"),
     ("yes that is all correct", "en"), ("all correct you can send it now", "en"),
     ("yes that's the right person go on", "en"), ("yep that's the right account", "en")],
)
def test_an_unmistakable_yes_confirms_in_either_language(yes: ExplicitYes, text: str, lang: str) -> None:
    assert yes.match(text, lang) == squash(text)


def test_a_transaction_may_add_yes_phrases_for_its_own_read_back(yes: ExplicitYes) -> None:
    assert yes.match("撤回吧", "zh") is None
    assert yes.match("撤回吧", "zh", extra=["撤回"]) == "撤回吧"


def test_an_acknowledgement_is_accepted_after_a_warning_but_is_no_yes_to_a_read_back(yes: ExplicitYes) -> None:
    assert yes.acknowledges("明白了", "zh") == "明白了"
    assert yes.acknowledges("got it", "en") == "gotit"
    assert yes.match("明白了", "zh") is None
    assert yes.acknowledges("等一下", "zh") is None


_YES_WORDS = ["对", "是的", "好的", "确认", "yes", "ok", "correct"]


@given(st.text(max_size=30))
def test_random_text_confirms_only_if_it_contains_a_yes_phrase(text: str) -> None:
    matcher = ExplicitYes({"zh": _YES_WORDS, "en": _YES_WORDS}, {"zh": ["嗯", "请"], "en": ["um", "please"]})
    said = matcher.match(text, "zh")
    if said is not None:
        assert any(word in said for word in _YES_WORDS)
        assert "?" not in text
        assert "？" not in text
