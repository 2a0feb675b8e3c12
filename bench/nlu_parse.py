"""Parse latency of the NLU with one torch thread: p50 / p95 over varied utterances.

Target: p95 <= 30 ms on one thread of the kiosk's CPU (issue 12). Needs a prepared e5 and a
trained intent model (``vtm models prepare`` or ``vtm nlu train``). The utterances run from one
word to a long rambling turn, since the encoder's cost grows with the length.

    .venv/bin/python bench/nlu_parse.py [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date

UTTERANCES = [
    "我的卡丢了",
    "嗯 那个 帮我冻结一下卡",
    "给我妈转两千",
    "给张三转五百块钱 工行的",
    "打个流水",
    "查查还剩多少钱",
    "不对是五百",
    "算了不办了",
    "找个人工",
    "尾号一二三四",
    "上个月到这个月的流水打印出来",
    "I lost my card",
    "send two thousand to Zhang San",
    "what's my balance",
    "can I get a statement for the last three months by email",
    "yes",
    "no thanks",
    "speak English please",
    "今天天气怎么样",
    "how do I apply for a mortgage",
    "哎呀姑娘 我这个卡啊 前两天去菜市场买菜 回来就找不着了 家里翻了个遍也没有 你说这可咋整",
    "so I was on the bus this morning and when I got off my wallet was gone and my bank card was in it",
    "怎么挂失",
    "what's the top-up limit on my e-wallet",
]


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--json", action="store_true")
    options = args.parse_args()

    import torch

    from vtm.config import load_settings
    from vtm.nlu.parser import NluParser

    torch.set_num_threads(1)
    settings = load_settings()
    parser = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu")
    started = time.perf_counter()
    parser.parse("warm up", today=date(2026, 11, 23))
    load_seconds = time.perf_counter() - started
    timings: list[float] = []
    for _ in range(options.rounds):
        for text in UTTERANCES:
            parser.classifier.forget()  # a new utterance each time: the model, not the memo, is timed
            t0 = time.perf_counter()
            parser.parse(text, today=date(2026, 11, 23))
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    result = {
        "n": len(timings),
        "threads": torch.get_num_threads(),
        "load_s": round(load_seconds, 2),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "max_ms": round(timings[-1], 2),
    }
    print(
        json.dumps(result)
        if options.json
        else f"parse latency, 1 thread, n={result['n']}: p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms (model load {result['load_s']} s)"
    )


if __name__ == "__main__":
    main()
