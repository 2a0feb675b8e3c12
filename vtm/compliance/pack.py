"""Load, validate and compile the policy pack; its content hash is its version.

Loading checks everything a compliance officer can get wrong and reports *all* findings at once,
each naming the file, the path inside it and what is wrong::

    compliance/policy.yaml: rules[3].params.max_amount: Input should be greater than 0

Usage::

    pack = load_pack(Path("compliance/policy.yaml"))
    for rule in pack.rules_for("transfer.execute"):
        print(rule.id, rule.effect)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vtm.common.canonical import canonical_json, sha256_hex
from vtm.common.yamlio import safe_load
from vtm.compliance.checks import CHECKS, CheckSpec, PackResources
from vtm.compliance.errors import PackProblem, PolicyError
from vtm.compliance.exemplars import ExemplarsDocument, ExemplarSet, compile_exemplars
from vtm.compliance.matching import PhraseMatcher, WatchIndex, WatchRecord
from vtm.compliance.pack_models import (
    CheckpointSpec,
    PolicyDocument,
    PromptsDocument,
    PromptText,
    RuleSpec,
    WatchlistDocument,
)
from vtm.compliance.verdict import Effect

__all__ = ["BUILTIN_PROMPTS", "PolicyPack", "Rule", "default_pack_path", "load_pack", "policy_json_schema"]

_M = TypeVar("_M", bound=BaseModel)

BUILTIN_PROMPTS = ("compliance.gate.incomplete_parameters",)
"""Prompt keys the gate itself uses (not named by any rule)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: the spec plus its validated parameters and the check it runs."""

    spec: RuleSpec
    params: BaseModel
    check: CheckSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def effect(self) -> Effect:
        return self.spec.effect

    def applies_to(self, checkpoint: str) -> bool:
        return any(fnmatch.fnmatchcase(checkpoint, p) for p in self.spec.applies_to)


@dataclass(frozen=True)
class PolicyPack:
    """The loaded pack. Immutable; share one instance between gates."""

    path: Path
    document: PolicyDocument
    prompts: dict[str, PromptText]
    rules: tuple[Rule, ...]
    resources: PackResources
    version: str
    checkpoints: dict[str, CheckpointSpec] = field(repr=False)
    """Every checkpoint the flows may ask about, for validation by other content loaders."""
    _by_checkpoint: dict[str, tuple[Rule, ...]] = field(repr=False)
    exemplars: ExemplarSet | None = field(default=None, repr=False)
    """The fraud-script exemplars (``files.fraud_exemplars``), for the ``fraud_semantic`` check."""

    @property
    def embedder_rules(self) -> tuple[str, ...]:
        """Ids of enabled rules whose check needs a text embedder (a gate needs one to start)."""
        return tuple(r.id for r in self.rules if r.check.needs_embedder)

    @property
    def short_version(self) -> str:
        return self.version[:12]

    def rules_for(self, checkpoint: str) -> tuple[Rule, ...]:
        """Enabled rules that apply at ``checkpoint``, in pack order (precomputed at load)."""
        return self._by_checkpoint.get(checkpoint, ())

    def prompt(self, key: str, language: str) -> str:
        text = self.prompts[key]
        return text.en if language == "en" else text.zh_cn


def default_pack_path(content_root: Path) -> Path:
    return content_root / "compliance" / "policy.yaml"


def _loc_path(loc: Sequence[int | str], prefix: str = "") -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError.single(path, "", f"cannot read: {exc.strerror or exc}") from exc
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError.single(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def _validate(
    model: type[_M], data: Any, file: Path, problems: list[PackProblem], prefix: str = ""
) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown field (check the spelling; see policy.schema.json)"
            problems.append(PackProblem(str(file), _loc_path(error["loc"], prefix), message))
        return None


def _compile_rules(
    doc: PolicyDocument,
    file: Path,
    prompts: dict[str, PromptText],
    lists: set[str],
    problems: list[PackProblem],
) -> list[Rule]:
    checkpoint_ids = [c.id for c in doc.checkpoints]
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, spec in enumerate(doc.rules):
        where = f"rules[{i}]"
        if spec.id in seen:
            problems.append(PackProblem(str(file), f"{where}.id", f"duplicate rule id {spec.id!r}"))
        seen.add(spec.id)
        for j, pattern in enumerate(spec.applies_to):
            if not any(fnmatch.fnmatchcase(c, pattern) for c in checkpoint_ids):
                problems.append(
                    PackProblem(
                        str(file), f"{where}.applies_to[{j}]", f"{pattern!r} matches no declared checkpoint"
                    )
                )
        if spec.prompt is not None and spec.prompt not in prompts:
            problems.append(
                PackProblem(str(file), f"{where}.prompt", f"prompt key {spec.prompt!r} is not in prompts")
            )
        if spec.effect is not Effect.ALLOW and spec.effect is not Effect.REPORT and spec.prompt is None:
            problems.append(
                PackProblem(
                    str(file),
                    f"{where}.prompt",
                    f"a {spec.effect.value} rule needs a prompt the customer hears",
                )
            )
        check = CHECKS.get(spec.check)
        if check is None:
            problems.append(
                PackProblem(
                    str(file),
                    f"{where}.check",
                    f"unknown check {spec.check!r}; known: {', '.join(sorted(CHECKS))}",
                )
            )
            continue
        if check.needs_embedder and doc.files.fraud_exemplars is None:
            problems.append(
                PackProblem(
                    str(file),
                    f"{where}.check",
                    f"{check.name} compares with fraud exemplars: name their file under files.fraud_exemplars",
                )
            )
        if spec.effect is Effect.STEP_UP and check.name != "auth_level":
            problems.append(
                PackProblem(
                    str(file),
                    f"{where}.effect",
                    "step_up needs the auth_level check (it says which factors are missing)",
                )
            )
        if (spec.effect is Effect.ASK) != (check.asks is not None):
            problems.append(
                PackProblem(
                    str(file),
                    f"{where}.effect",
                    f"{check.name} asks the customer a question: its effect must be ask" if check.asks
                    else "ask needs a question check (one that names the answer it waits for, e.g. purpose_unstated)",
                )
            )
        params = _validate(check.params_model, spec.params, file, problems, f"{where}.params")
        if params is None:
            continue
        problems.extend(_cross_refs(params, f"{where}.params", file, prompts, doc, lists))
        rules.append(Rule(spec, params, check))
    return rules


def _cross_refs(
    params: BaseModel,
    where: str,
    file: Path,
    prompts: dict[str, PromptText],
    doc: PolicyDocument,
    lists: set[str],
) -> list[PackProblem]:
    found: list[PackProblem] = []
    phrase_list = getattr(params, "phrase_list", None)
    if isinstance(phrase_list, str) and phrase_list not in doc.phrase_lists:
        found.append(
            PackProblem(str(file), f"{where}.phrase_list", f"no phrase list {phrase_list!r} in phrase_lists")
        )
    for k, key in enumerate(getattr(params, "keys", None) or []):
        if key not in prompts:
            found.append(
                PackProblem(str(file), f"{where}.keys[{k}]", f"prompt key {key!r} is not in prompts")
            )
    for k, name in enumerate(getattr(params, "lists", None) or []):
        if name not in lists:
            found.append(
                PackProblem(str(file), f"{where}.lists[{k}]", f"no watch-list {name!r} in the watchlist file")
            )
    return found


def load_pack(path: Path) -> PolicyPack:
    """Load and compile the pack at ``path`` (policy.yaml); raise :class:`PolicyError` naming all problems."""
    path = Path(path)
    problems: list[PackProblem] = []
    doc = _validate(PolicyDocument, _read_yaml(path), path, problems)
    if doc is None:
        raise PolicyError(problems)
    watch_path = path.parent / doc.files.watchlist
    prompts_path = path.parent / doc.files.prompts
    watch = _validate(WatchlistDocument, _read_yaml(watch_path), watch_path, problems)
    prompts_doc = _validate(PromptsDocument, _read_yaml(prompts_path), prompts_path, problems)
    exemplars = _load_exemplars(path.parent, doc, problems)
    if watch is None or prompts_doc is None:
        raise PolicyError(problems)
    for i, entry in enumerate(watch.entries):
        if entry.list_name not in watch.lists:
            problems.append(
                PackProblem(str(watch_path), f"entries[{i}].list", f"no list {entry.list_name!r} under lists")
            )
        if not entry.names and not entry.accounts:
            problems.append(PackProblem(str(watch_path), f"entries[{i}]", "an entry needs names or accounts"))
    ids = [c.id for c in doc.checkpoints]
    for i, cid in enumerate(ids):
        if cid in ids[:i]:
            problems.append(PackProblem(str(path), f"checkpoints[{i}].id", f"duplicate checkpoint {cid!r}"))
    for key in BUILTIN_PROMPTS:
        if key not in prompts_doc.prompts:
            problems.append(PackProblem(str(prompts_path), "prompts", f"missing built-in prompt {key!r}"))
    rules = _compile_rules(doc, path, prompts_doc.prompts, set(watch.lists), problems)
    if problems:
        raise PolicyError(problems)

    resources = PackResources(
        watchlist=WatchIndex(
            WatchRecord(e.id, e.list_name, tuple(e.names), tuple(e.accounts)) for e in watch.entries
        ),
        phrases={name: PhraseMatcher([*pl.zh, *pl.en]) for name, pl in doc.phrase_lists.items()},
    )
    enabled = tuple(r for r in rules if r.spec.enabled)
    by_checkpoint = {cid: tuple(r for r in enabled if r.applies_to(cid)) for cid in ids}
    version = sha256_hex(
        canonical_json(
            {
                "policy": doc.model_dump(mode="json"),
                "watchlist": watch.model_dump(mode="json", by_alias=True),
                "prompts": prompts_doc.model_dump(mode="json", by_alias=True),
                "fraud_exemplars": None if exemplars is None else exemplars.content_hash,
            }
        )
    )
    return PolicyPack(
        path,
        doc,
        prompts_doc.prompts,
        enabled,
        resources,
        version,
        {c.id: c for c in doc.checkpoints},
        by_checkpoint,
        exemplars,
    )


def _load_exemplars(folder: Path, doc: PolicyDocument, problems: list[PackProblem]) -> ExemplarSet | None:
    if doc.files.fraud_exemplars is None:
        return None
    exemplars_path = folder / doc.files.fraud_exemplars
    try:
        data = _read_yaml(exemplars_path)
    except PolicyError as exc:
        problems.extend(exc.problems)
        return None
    document = _validate(ExemplarsDocument, data, exemplars_path, problems)
    return None if document is None else compile_exemplars(document, exemplars_path, problems)


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of policy.yaml, with each rule's ``params`` tied to the check it names."""
    schema = PolicyDocument.model_json_schema()
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    branches = []
    for name, spec in sorted(CHECKS.items()):
        params_schema = spec.params_model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(params_schema.pop("$defs", {}))
        defs[spec.params_model.__name__] = params_schema
        branches.append(
            {
                "if": {"properties": {"check": {"const": name}}, "required": ["check"]},
                "then": {"properties": {"params": {"$ref": f"#/$defs/{spec.params_model.__name__}"}}},
            }
        )
    rule = defs["RuleSpec"]
    rule["properties"]["check"] = {**rule["properties"]["check"], "enum": sorted(CHECKS)}
    rule["allOf"] = branches
    return schema
