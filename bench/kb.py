"""Knowledge-base retrieval time on one torch thread: p50/p95 of ``KnowledgeBase.ask``, and its parts.

Run: ``VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/kb.py [--rounds 5] [--questions FILE]``.
Target (issue 14): p95 <= 30 ms for one question. The questions are those of
``tests/data/kb/dev.csv`` by default (``--questions`` another set, e.g. ``tests/data/kb/blind10/zh.csv``:
timing reads no answer; both languages, answerable and not), asked ``--rounds`` times each after a warm-up.

``--after-parse`` measures the kiosk's path: the knowledge base shares the intent model's encoder
(loaded once), the turn's text has just been parsed, and e5's layers below the intent model's split
are remembered from that parse (``vtm.nlu.model.encoder``), so a question costs e5's top layers,
BM25 and the fusion. The parse itself is not timed here (``bench/nlu_parse.py`` times it).

The machine's load average is printed with the figures: on the shared 2-core machine, other jobs
inflate wall-clock figures, so the CPU time of the asking thread is printed too (what one call
costs on an otherwise idle core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from vtm.knowledge import KnowledgeBase
from vtm.knowledge.evaluate import read_questions
from vtm.nlu.normalize import normalize
from vtm.nlu.parser import NluParser

ROOT = Path(__file__).resolve().parents[1]


def quantiles(samples_ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return cuts[49], cuts[94]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "data" / "kb" / "dev.csv")
    parser.add_argument("--after-parse", action="store_true",
                        help="the kiosk's path: parse each question first, with the encoder shared")
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))
    started = time.perf_counter()
    nlu = NluParser(models, ROOT / "dialogs" / "nlu") if args.after_parse else None
    kb = KnowledgeBase.load(ROOT, models, encoder=nlu.classifier.encoder if nlu is not None else None)
    print(f"load: {time.perf_counter() - started:.1f} s ({len(kb.content.entries)} entries, embeddings cached)")
    questions = read_questions(args.questions, kb.content)
    for q in questions[:20]:
        kb.ask(q.text, q.lang)  # warm-up: torch's first calls allocate
    if nlu is not None:
        nlu.classifier.encoder.forget()  # no question starts with its lower layers already remembered

    total: list[float] = []
    cpu: list[float] = []
    encoder: list[float] = []
    for _ in range(args.rounds):
        for q in questions:
            if nlu is not None:
                nlu.classifier.forget()  # each round a new utterance: its parse runs the encoder, as at the kiosk
                nlu.parse(q.text, q.lang)  # the turn's parse, before the question reaches the knowledge base
            c0 = time.thread_time()
            t0 = time.perf_counter()
            kb.ask(q.text, q.lang)
            t1 = time.perf_counter()
            cpu.append((time.thread_time() - c0) * 1000)
            kb._dense.encoder.embed([normalize(q.text, q.lang).text])  # the e5 share of the same call
            t2 = time.perf_counter()
            total.append((t1 - t0) * 1000)
            encoder.append((t2 - t1) * 1000)
    load1, load5, _ = os.getloadavg()
    p50, p95 = quantiles(total)
    e50, e95 = quantiles(encoder)
    c50, c95 = quantiles(cpu)
    print(f"questions: {len(questions)} x {args.rounds} rounds; load average {load1:.1f} (1 min), {load5:.1f} (5 min)")
    path = "after the turn's parse, encoder shared" if nlu is not None else "alone, all e5 layers"
    print(f"path: {path}")
    print(f"ask (normalise + e5 + BM25 + fusion): p50 {p50:.1f} ms  p95 {p95:.1f} ms  (target p95 <= 30 ms)")
    print(f"  of which e5 embedding of the question: p50 {e50:.1f} ms  p95 {e95:.1f} ms")
    # CPU time of the asking thread: what one call costs on an otherwise idle core (wall time above
    # also counts the time other processes held the CPU).
    print(f"ask, CPU time of the calling thread: p50 {c50:.1f} ms  p95 {c95:.1f} ms")


if __name__ == "__main__":
    main()
