"""Customer phrasings (``knowledge/phrasings/``): validated at load, indexed, and learnt by the entry classifier."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from knowledge_helpers import CharEncoder, without_classifier

from vtm.common.classifier import SoftmaxClassifier
from vtm.knowledge import Answer, Decline, KnowledgeBase
from vtm.knowledge.errors import KnowledgeContentError
from vtm.knowledge.loader import load_knowledge


def problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeContentError) as caught:
        load_knowledge(root)
    return [str(p) for p in caught.value.problems]


def write(root: Path, name: str, text: str) -> Path:
    folder = root / "knowledge" / "phrasings"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


BALANCE = """topic: balance
phrasings:
  balance.how:
    zh: [兜里还剩几个子儿, 看看我还有多少存款]
    en: [what are my coffers at, how much dosh is left]
"""


def test_phrasings_are_loaded_onto_their_entries(content_copy: Path) -> None:
    write(content_copy, "balance.yaml", BALANCE)
    entries = {e.id: e for e in load_knowledge(content_copy).entries}
    assert entries["balance.how"].phrasings["zh"] == ("兜里还剩几个子儿", "看看我还有多少存款")
    assert entries["balance.how"].phrasings["en"] == ("what are my coffers at", "how much dosh is left")
    assert entries["balance.privacy"].phrasings == {"zh": (), "en": ()}


def test_an_unknown_entry_and_an_entry_of_another_topic_are_named(content_copy: Path) -> None:
    path = write(content_copy, "balance.yaml", BALANCE + """  balance.nope:
    zh: [随便问问]
    en: [just asking]
  pin.forgotten:
    zh: [密码想不起来了]
    en: [my pin slipped my mind]
""")
    assert problems(content_copy) == [
        f"{path}: phrasings.balance.nope: no entry 'balance.nope' in entries/",
        f"{path}: phrasings.pin.forgotten: entry of topic 'pin', not 'balance': move it to phrasings/pin.yaml",
    ]


def test_chinese_in_an_english_phrasing_a_repeat_and_a_placeholder_are_refused(content_copy: Path) -> None:
    path = write(content_copy, "balance.yaml", """topic: balance
phrasings:
  balance.how:
    zh: [查余额, 查 余额, "{policy.x}"]
    en: [check my 余额]
""")
    found = problems(content_copy)
    assert len(found) == 2
    assert found[0].startswith(f"{path}: phrasings.balance.how.zh: Value error, question '查 余额' is given twice")
    assert found[1].startswith(f"{path}: phrasings.balance.how.en: Value error, English phrasing 0 contains Chinese")


def test_out_of_scope_questions_are_loaded_and_checked(content_copy: Path) -> None:
    write(content_copy, "out_of_scope.yaml", "zh: [明天会下雨吗]\nen: [will it rain tomorrow]\n")
    assert load_knowledge(content_copy).out_of_scope == {"zh": ("明天会下雨吗",), "en": ("will it rain tomorrow",)}
    path = write(content_copy, "out_of_scope.yaml", "zh: [明天会下雨吗]\n")
    assert problems(content_copy) == [f"{path}: en: Field required"]


def test_a_phrasing_makes_its_entry_the_answer(content_copy: Path, tmp_path: Path) -> None:
    question = "what are my coffers at"
    before = KnowledgeBase(without_classifier(load_knowledge(content_copy)), CharEncoder(), tmp_path)
    assert before.rank(question, "en")[1][0].entry_id != "balance.how"
    write(content_copy, "balance.yaml", BALANCE)
    after = KnowledgeBase(without_classifier(load_knowledge(content_copy)), CharEncoder(), tmp_path)
    assert after.rank(question, "en")[1][0].entry_id == "balance.how"


def test_the_classifier_learns_out_of_scope_questions_and_declines_them(content_copy: Path, tmp_path: Path) -> None:
    weather = ["明天会下雨吗", "今天天气怎么样", "外面下雨了没有", "这周末天气好不好"]
    write(content_copy, "out_of_scope.yaml", "zh: [{}]\nen: [will it rain tomorrow]\n".format(", ".join(weather)))
    content = load_knowledge(content_copy)
    retrieval = content.settings.retrieval.model_copy(update={"classifier_weight": 1.0, "classifier_c": 50.0})
    content = type(content)(**{**{f: getattr(content, f) for f in content.__dataclass_fields__},
                               "settings": content.settings.model_copy(update={"retrieval": retrieval})})
    kb = KnowledgeBase(content, CharEncoder(), tmp_path)
    assert isinstance(kb.ask("明天天气会下雨吗", "zh"), Decline)
    answer = kb.ask("我的银行卡丢了怎么办", "zh")
    assert isinstance(answer, Answer)
    assert answer.entry_id == "card_loss.how_to_report"
    assert len(list(tmp_path.glob("*.npz"))) == 2  # one fitted classifier per language, cached beside the embeddings


def test_english_phrasings_leave_a_mandarin_question_s_no_entry_probability_alone(
    content_copy: Path, tmp_path: Path
) -> None:
    """One entry classifier per question language: a Mandarin question is judged against the Mandarin texts
    of every entry and all out-of-scope lines, so the English phrasings a bank adds cannot change whether a
    Mandarin question is declined; an English question's probability does move."""
    write(content_copy, "out_of_scope.yaml", "zh: [明天会下雨吗, 今天天气怎么样]\nen: [will it rain tomorrow]\n")

    def built() -> KnowledgeBase:
        content = load_knowledge(content_copy)
        retrieval = content.settings.retrieval.model_copy(update={"classifier_c": 50.0})
        content = type(content)(**{**{f: getattr(content, f) for f in content.__dataclass_fields__},
                                   "settings": content.settings.model_copy(update={"retrieval": retrieval})})
        return KnowledgeBase(content, CharEncoder(), tmp_path)

    def phrasings(english: str) -> None:
        (content_copy / "knowledge" / "phrasings" / "balance.yaml").write_text(
            f"topic: balance\nphrasings:\n  balance.how:\n    zh: [兜里还剩几个子儿]\n    en: [{english}]\n",
            encoding="utf-8",
        )

    questions = {"zh": "后天天气好不好", "en": "what are my coffers at"}
    phrasings("how much dosh is left")
    before = {lang: built().assess(text, lang).outside for lang, text in questions.items()}
    phrasings("how much dosh is left, what are my coffers at, what's in the kitty")
    after = {lang: built().assess(text, lang).outside for lang, text in questions.items()}
    assert after["zh"] == before["zh"]
    assert after["en"] != before["en"]


def test_the_classifier_is_fitted_once_then_read_back_and_refitted_when_damaged(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, 16)).astype(np.float32)
    labels = np.repeat(np.arange(3), 20)
    vectors = (centres[labels] + 0.1 * rng.normal(size=(60, 16))).astype(np.float32)
    first = SoftmaxClassifier.fit(vectors, labels, 3, c=10.0, cache_dir=tmp_path)
    assert [int(np.argmax(first.probabilities(c))) for c in centres] == [0, 1, 2]
    assert first.probabilities(centres[0]).sum() == pytest.approx(1.0, abs=1e-5)
    (cached,) = tmp_path.glob("*.npz")
    again = SoftmaxClassifier.fit(vectors, labels, 3, c=10.0, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.weights, again.weights)
    cached.write_bytes(b"damaged")
    refitted = SoftmaxClassifier.fit(vectors, labels, 3, c=10.0, cache_dir=tmp_path)
    np.testing.assert_allclose(refitted.weights, first.weights, atol=1e-4)
    with pytest.raises(ValueError, match=r"classes without a training row: \[3\]"):
        SoftmaxClassifier.fit(vectors, labels, 4, c=10.0)
