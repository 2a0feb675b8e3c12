"""Fraud scripts told in the customer's own words are caught by meaning (rule check ``fraud_semantic``).

These run the shipped pack with the kiosk's real e5 encoder. The three scripts below are the ones
an outside review found passing the gate (0 of 3 caught by the phrase list); none of them is an
exemplar line, and the phrase rule still does not catch them, so only the meaning can.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from compliance_helpers import NOW, PACK_PATH, build, figure, make_gate
from typer.testing import CliRunner

from vtm.audit import AuditKeyring, AuditLog
from vtm.cli import app
from vtm.compliance import Gate, Outcome, PolicyError, PolicyPack, Verdict, load_pack
from vtm.compliance.errors import EmbedderRequired
from vtm.compliance.semantic import SemanticIndex, TextEmbedder

NEW_WORDS = [
    ("派出所打电话说我的卡牵扯到案子，要我把钱转到指定账户核查", "safe_account_police"),
    ("群里的老师说这个项目下个月就能翻倍", "fake_investment"),
    ("the bank's security department said my savings must be moved to a protected account today", "fake_bank_security"),
]
ORDINARY = [
    "给房东交下个月的房租",
    "给儿子交大学学费",
    "装修队干完了，付给工头三万块",
    "我要转账给我妈",
    "rent for my flat",
    "my daughter's tuition fees for the autumn term",
    "paying the builder who fixed our roof",
    "moving money to my own savings account",
]
PROMPT = "compliance.fraud.warning"


def hit(verdict: Verdict, rule_id: str) -> dict[str, Any] | None:
    return next((h.details for h in verdict.hits if h.rule_id == rule_id), None)


def said(text: str, **session: Any) -> dict[str, Any]:
    return {"recent_utterances": ("我要转账", text), **session}


@pytest.mark.parametrize(("text", "fraud_type"), NEW_WORDS)
def test_a_fraud_script_in_new_words_gets_a_warning_naming_type_exemplar_and_score(
    gate: Gate, pack: PolicyPack, text: str, fraud_type: str
) -> None:
    verdict = gate.evaluate("transfer.payee", build(session=said(text)))
    assert verdict.outcome is Outcome.WARN
    assert verdict.non_interruptible
    assert hit(verdict, "FRAUD-CUE-WARN") is None  # the phrase list alone misses it
    details = hit(verdict, "FRAUD-SEMANTIC-WARN")
    assert details is not None
    assert details["fraud_type"] == fraud_type
    assert pack.exemplars is not None
    exemplar = next(e for e in pack.exemplars.fraud if e.id == details["exemplar_id"])
    assert details["exemplar"] == exemplar.text != text
    assert details["utterance"] == text
    assert details["score"] >= figure(pack, "FRAUD-SEMANTIC-WARN", "min_score")
    # The verdict shows how the evidence was reached: the margin plus each learned term the shipped rule
    # weighs (the e5 classifier's log-odds of fraud, the words' classifier's), and no term it does not.
    weight = figure(pack, "FRAUD-SEMANTIC-WARN", "classifier_weight")
    lexical_weight = figure(pack, "FRAUD-SEMANTIC-WARN", "lexical_weight")
    assert weight > 0 or lexical_weight > 0  # the shipped rule learns from all the exemplars, not only the closest
    assert ("fraud_probability" in details) == (weight > 0)
    assert ("lexical_log_odds" in details) == (lexical_weight > 0)
    words = lexical_weight * details.get("lexical_log_odds", 0.0)
    if weight > 0:
        p = details["fraud_probability"]
        assert 0.0 <= p <= 1.0  # rounded to 4 places in the verdict: a confident classifier shows 1.0
        # rounded figures: the e5 term is checked by its sign (exactly in the index test)
        assert (details["evidence"] - words > details["margin"]) == (p > 0.5)
    else:
        assert details["evidence"] == pytest.approx(details["margin"] + words, abs=1e-3)
    assert details["evidence"] >= figure(pack, "FRAUD-SEMANTIC-WARN", "min_margin")


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_reasons_to_move_money_raise_no_fraud_rule(gate: Gate, text: str) -> None:
    for checkpoint in ("transfer.payee", "transfer.confirm"):
        verdict = gate.evaluate(checkpoint, build(session=said(text, elderly=True), slots={"new_payee": True}))
        assert not [h.rule_id for h in verdict.hits if h.rule_id.startswith("FRAUD-")], text
        assert verdict.outcome is Outcome.ALLOW


def test_semantic_hit_with_a_new_payee_and_a_large_amount_is_referred(gate: Gate, pack: PolicyPack) -> None:
    large = figure(pack, "FRAUD-SEMANTIC-REFER", "escalate_when").new_payee_min_amount
    heard = said(NEW_WORDS[0][0], acknowledged=frozenset({PROMPT}))
    risky = build(session=heard, slots={"new_payee": True, "amount": large})
    verdict = gate.evaluate("transfer.confirm", risky)
    assert verdict.outcome is Outcome.REFER
    details = hit(verdict, "FRAUD-SEMANTIC-REFER")
    assert details is not None
    assert details["new_payee_large"]
    assert details["fraud_type"] == NEW_WORDS[0][1]
    small = build(session=heard, slots={"new_payee": True, "amount": large - Decimal("0.01")})
    known = build(session=heard, slots={"new_payee": False, "amount": large})
    assert gate.evaluate("transfer.confirm", small).outcome is Outcome.ALLOW  # warning heard and acknowledged
    assert gate.evaluate("transfer.confirm", known).outcome is Outcome.ALLOW


def test_semantic_hit_from_an_elderly_customer_is_referred_even_after_the_warning(gate: Gate) -> None:
    heard = said(NEW_WORDS[1][0], elderly=True, acknowledged=frozenset({PROMPT}))
    verdict = gate.evaluate("transfer.confirm", build(session=heard))
    assert verdict.outcome is Outcome.REFER
    details = hit(verdict, "FRAUD-SEMANTIC-REFER")
    assert details is not None
    assert details["elderly"] is True
    assert gate.evaluate("transfer.confirm", build(session=said(NEW_WORDS[1][0]))).outcome is Outcome.WARN


def test_the_semantic_rules_apply_wherever_the_phrase_rules_do(pack: PolicyPack) -> None:
    for checkpoint in pack.checkpoints:
        ids = {r.id for r in pack.rules_for(checkpoint)}
        assert ("FRAUD-CUE-WARN" in ids) == ("FRAUD-SEMANTIC-WARN" in ids), checkpoint
        assert ("FRAUD-CUE-REFER" in ids) == ("FRAUD-SEMANTIC-REFER" in ids), checkpoint


def test_the_hit_lands_in_the_audit_chain(pack: PolicyPack, embedder: TextEmbedder, tmp_path: Path) -> None:
    audit = AuditLog.from_url(f"sqlite:///{tmp_path / 'records.sqlite3'}", AuditKeyring.ephemeral())
    gate = make_gate(pack, embedder, audit=audit)
    gate.check("transfer.payee", build(session=said(NEW_WORDS[2][0])))
    (entry,) = audit.entries(kind="verdict")
    assert entry.payload is not None
    (recorded,) = [h for h in entry.payload["hits"] if h["rule_id"] == "FRAUD-SEMANTIC-WARN"]
    assert recorded["details"]["fraud_type"] == NEW_WORDS[2][1]
    assert recorded["details"]["exemplar_id"].startswith(f"{NEW_WORDS[2][1]}.en[")
    assert entry.payload["policy_version"] == pack.version
    assert audit.verify().ok


def test_a_gate_without_an_embedder_refuses_to_start(pack: PolicyPack) -> None:
    with pytest.raises(EmbedderRequired) as caught:
        Gate(pack, clock=lambda: NOW)
    assert set(caught.value.rule_ids) == {"FRAUD-SEMANTIC-WARN", "FRAUD-SEMANTIC-REFER"}


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (to see the cache at work)."""

    def __init__(self, inner: TextEmbedder) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed(self, texts: Any) -> Any:
        self.texts += len(texts)
        return self.inner.embed(texts)


def test_exemplar_vectors_are_computed_once_per_file_and_model(
    small_pack: Path, embedder: TextEmbedder, tmp_path: Path
) -> None:
    pack = load_pack(small_pack)
    assert pack.exemplars is not None
    counting = CountingEmbedder(embedder)
    first = SemanticIndex(pack.exemplars, counting, cache_dir=tmp_path / "cache")
    assert counting.texts == len(pack.exemplars.all)
    second = SemanticIndex(pack.exemplars, counting, cache_dir=tmp_path / "cache")
    assert counting.texts == len(pack.exemplars.all)  # read from the cache, nothing embedded
    text = NEW_WORDS[0][0]
    assert first.match([text], 3) == second.match([text], 3)
    assert counting.texts == len(pack.exemplars.all) + 2  # the utterance, once by each index
    second.match([text, text], 3)
    assert counting.texts == len(pack.exemplars.all) + 2  # ... and then remembered
    edit(small_pack.parent / "fraud_exemplars.yaml", lambda d: d["benign"]["zh"].append("给物业交水费"))
    SemanticIndex(load_pack(small_pack).exemplars, counting, cache_dir=tmp_path / "cache")  # type: ignore[arg-type]
    assert counting.texts > len(pack.exemplars.all) + 2  # a changed file is a new key
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2


def test_the_learned_boundary_is_fitted_at_start_cached_and_separates_scripts_from_ordinary_reasons(
    small_pack: Path, embedder: TextEmbedder, tmp_path: Path
) -> None:
    pack = load_pack(small_pack)
    assert pack.exemplars is not None
    index = SemanticIndex(pack.exemplars, embedder, cache_dir=tmp_path, classifier_cs=[16.0])
    assert len(list(tmp_path.glob("*.npz"))) == 1  # fitted once at start, and cached
    script, ordinary = index.match(["派出所说我的账户涉案 要把钱转去核查", "给房东交下个月的房租"], 5, 16.0)
    assert script.fraud_probability is not None
    assert ordinary.fraud_probability is not None
    assert script.fraud_probability > 0.5 > ordinary.fraud_probability
    assert script.evidence(0.0) == script.margin  # weight 0: the margin alone, as before
    assert script.evidence(0.02) > script.margin > ordinary.margin > ordinary.evidence(0.02)
    assert index.match([NEW_WORDS[0][0]], 5)[0].fraud_probability is None  # no C asked for: no classifier
    with pytest.raises(ValueError, match="no classifier was fitted with C=64"):
        index.match([NEW_WORDS[0][0]], 5, 64.0)


def test_the_lexical_classifier_reads_the_words_and_adds_its_log_odds_only_when_weighted(
    small_pack: Path, embedder: TextEmbedder, tmp_path: Path
) -> None:
    pack = load_pack(small_pack)
    assert pack.exemplars is not None
    index = SemanticIndex(pack.exemplars, embedder, cache_dir=tmp_path, lexical_cs=[16.0])
    script, ordinary = index.match(["派出所说我的账户涉案 要把钱转去核查", "给房东交下个月的房租"], 5, lexical_c=16.0)
    assert script.lexical_log_odds is not None
    assert ordinary.lexical_log_odds is not None
    assert script.lexical_log_odds > 0 > ordinary.lexical_log_odds
    assert script.evidence(0.0) == script.evidence(0.0, 0.0) == script.margin  # weight 0: as before
    assert script.evidence(0.0, 0.02) == pytest.approx(script.margin + 0.02 * script.lexical_log_odds)
    assert ordinary.evidence(0.0, 0.02) < ordinary.margin
    assert index.match([NEW_WORDS[0][0]], 5)[0].lexical_log_odds is None  # no C asked for: not used
    with pytest.raises(ValueError, match="no lexical classifier was fitted with C=4"):
        index.match([NEW_WORDS[0][0]], 5, lexical_c=4.0)
    left_out = index.without(lambda e: e.fraud_type == "safe_account_police", "no police lines")
    assert left_out.match([NEW_WORDS[0][0]], 5, lexical_c=16.0)[0].lexical_log_odds is not None  # refitted


def test_an_index_without_some_lines_reuses_their_vectors_and_never_names_a_left_out_line(
    small_pack: Path, embedder: TextEmbedder, tmp_path: Path
) -> None:
    pack = load_pack(small_pack)
    assert pack.exemplars is not None
    counting = CountingEmbedder(embedder)
    full = SemanticIndex(pack.exemplars, counting, cache_dir=tmp_path, classifier_cs=[16.0])
    text = NEW_WORDS[0][0]
    (nearest,) = full.match([text], 1)
    embedded = counting.texts
    assert nearest.exemplar.fraud_type == "safe_account_police"
    left_out = full.without(lambda e: e.fraud_type == "safe_account_police", "no police lines")
    assert counting.texts == embedded  # the lines' vectors are reused, nothing is embedded again
    assert len(left_out.exemplars.fraud) < len(full.exemplars.fraud)
    assert left_out.exemplars.benign == full.exemplars.benign
    assert left_out.exemplars.content_hash != full.exemplars.content_hash
    (without,) = left_out.match([text], 1, 16.0)
    assert without.exemplar.fraud_type != "safe_account_police"
    assert without.similarity < nearest.similarity
    assert without.fraud_probability is not None  # its own classifier, fitted on what is left


def test_utterance_vectors_are_centred_and_normalised(gate: Gate) -> None:
    index = gate.resources.semantic
    assert index is not None
    (match,) = index.match([NEW_WORDS[0][0]], 1)
    assert -1.0 <= match.similarity <= 1.0
    assert match.score == pytest.approx(match.similarity)  # k = 1: the mean of one line is that line
    vectors = index._utterance_vectors(["给房东交房租"])
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0], abs=1e-5)


# The exemplar file ----------------------------------------------------------------------------
@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    folder.mkdir()
    for name in ("policy.yaml", "watchlist.yaml", "prompts.yaml", "fraud_exemplars.yaml"):
        shutil.copy(PACK_PATH.parent / name, folder / name)
    return folder


@pytest.fixture
def small_pack(pack_dir: Path) -> Path:
    """The shipped pack with a two-type exemplar file and the first 400 benign lines per language (fast to embed)."""

    def keep_two(d: dict[str, Any]) -> None:
        d["fraud_types"] = dict(list(d["fraud_types"].items())[:2])
        d["benign"] = {lang: lines[:400] for lang, lines in d["benign"].items()}

    edit(pack_dir / "fraud_exemplars.yaml", keep_two)
    return pack_dir / "policy.yaml"


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(policy: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_pack(policy)
    return [str(p) for p in caught.value.problems]


def test_a_bare_fraud_line_is_rejected_naming_file_and_path(pack_dir: Path) -> None:
    """"grandson" or "投资" alone is what honest customers say too; a fraud line must tell a situation."""

    def add_bare(d: dict[str, Any]) -> None:
        d["fraud_types"]["fake_prize"]["zh"].append("领奖")
        d["fraud_types"]["fake_prize"]["en"].append("prize fee")
        d["benign"]["en"].append("piano tuner")  # a bare honest reason is fine

    edit(pack_dir / "fraud_exemplars.yaml", add_bare)
    problems = problems_of(pack_dir / "policy.yaml")
    assert len(problems) == 2
    assert all("fraud_exemplars.yaml" in p and "too short to tell a situation" in p for p in problems)
    assert any("fraud_types.fake_prize.zh[" in p for p in problems)
    assert any("fraud_types.fake_prize.en[" in p for p in problems)


def test_too_few_lines_for_a_type_names_file_and_path(pack_dir: Path) -> None:
    edit(pack_dir / "fraud_exemplars.yaml", lambda d: d["fraud_types"]["fake_prize"].update(zh=["中奖了要交税"]))
    (problem,) = problems_of(pack_dir / "policy.yaml")
    assert problem.startswith(f"{pack_dir / 'fraud_exemplars.yaml'}: fraud_types.fake_prize.zh: ")
    assert "at least 10" in problem


def test_a_line_both_fraud_and_benign_is_rejected_naming_both_places(pack_dir: Path) -> None:
    def contradict(d: dict[str, Any]) -> None:
        d["benign"]["en"].append(d["fraud_types"]["romance_scam"]["en"][2])

    edit(pack_dir / "fraud_exemplars.yaml", contradict)
    (problem,) = problems_of(pack_dir / "policy.yaml")
    assert "fraud_exemplars.yaml: benign.en[" in problem
    assert "already at fraud_types.romance_scam.en[2]" in problem


def test_unknown_field_and_empty_line_are_both_reported(pack_dir: Path) -> None:
    def break_it(d: dict[str, Any]) -> None:
        d["fraud_types"]["game_trading"]["examples"] = ["x"]
        d["benign"]["zh"][0] = "  "

    edit(pack_dir / "fraud_exemplars.yaml", break_it)
    problems = problems_of(pack_dir / "policy.yaml")
    file = str(pack_dir / "fraud_exemplars.yaml")
    assert sorted(problems) == [
        f"{file}: benign.zh: Value error, an exemplar line is empty",
        f"{file}: fraud_types.game_trading.examples: unknown field (check the spelling; see policy.schema.json)",
    ]


def test_a_fraud_type_id_that_is_not_snake_case_is_rejected(pack_dir: Path) -> None:
    def rename(d: dict[str, Any]) -> None:
        d["fraud_types"]["Bad Type"] = d["fraud_types"].pop("fake_prize")

    edit(pack_dir / "fraud_exemplars.yaml", rename)
    (problem,) = problems_of(pack_dir / "policy.yaml")
    assert problem.startswith(f"{pack_dir / 'fraud_exemplars.yaml'}: fraud_types: ")
    assert "'Bad Type'" in problem


def test_a_missing_exemplar_file_is_named(pack_dir: Path) -> None:
    (pack_dir / "fraud_exemplars.yaml").unlink()
    (problem,) = problems_of(pack_dir / "policy.yaml")
    assert problem.startswith(f"{pack_dir / 'fraud_exemplars.yaml'}: <root>: cannot read")


def test_a_semantic_rule_without_an_exemplar_file_is_rejected(pack_dir: Path) -> None:
    edit(pack_dir / "policy.yaml", lambda d: d["files"].pop("fraud_exemplars"))
    problems = problems_of(pack_dir / "policy.yaml")
    assert len(problems) == 2
    assert all(p.endswith("name their file under files.fraud_exemplars") for p in problems)


def test_editing_an_exemplar_changes_the_policy_version(pack_dir: Path) -> None:
    before = load_pack(pack_dir / "policy.yaml").version
    new_line = "paying the harp restorer for mending my old harp"
    edit(pack_dir / "fraud_exemplars.yaml", lambda d: d["benign"]["en"].append(new_line))
    assert load_pack(pack_dir / "policy.yaml").version != before


def test_explain_shows_the_semantic_rules_and_how_a_sentence_is_judged(pack_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["compliance", "explain", "transfer.confirm", "--pack", str(pack_dir / "policy.yaml"),
         "--say", NEW_WORDS[0][0], "--say", "给房东交房租"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "FRAUD-SEMANTIC-WARN" in result.output
    assert "FRAUD-SEMANTIC-REFER" in result.output
    assert "fraud exemplars:" in result.output
    # The terminal width differs between runners (rich may wrap a long line): compare without whitespace.
    flat = "".join(result.output.split())
    assert f"FRAUD-SEMANTIC-WARN:MATCHES'{NEW_WORDS[0][0]}'" in flat
    assert "FRAUD-SEMANTIC-WARN:nomatch'给房东交房租'" in flat
    # the learned terms the shipped rule weighs are shown too
    assert "log-oddsoftheclassifier'sfraudprobability" in flat or "thewords'log-odds" in flat
