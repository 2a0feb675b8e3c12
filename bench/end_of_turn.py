"""End of turn on held-out audio: false cut-offs on paused utterances, and the wait after complete ones.

Two sets per language, spoken by espeak-ng (three voice/speed combinations), half a second of
room silence before and 3 s after:

- *paused*: one customer turn with a 400-900 ms pause (seeded) at clause boundaries and after
  fillers ("转给 | 张三，呃 | 五百块"). The sentence is synthesised whole with a comma at each
  boundary, so the pitch before a pause is espeak-ng's mid-sentence (continuing) one, and each
  comma's short pause (~0.2 s) is then stretched to the drawn length. Any turn ended before
  the last piece is a **false cut-off**. (Synthesising each piece on its own gives it a
  sentence-final fall: the model then hears a finished sentence at every pause.)
- *complete*: the kiosk phrases of ``bench/asr.py``, each one finished turn.

Reported per configuration: false cut-off rate on *paused*, and end of speech -> end of turn
(the wait, plus the completion model's wall time, which is on the critical path) p50 / p95 on
*complete* and on *paused*, and the share of complete turns that waited the long (incomplete)
wait. These sentences were written for this benchmark; no setting was tuned on them.

    .venv/bin/python bench/voice.py --end-of-turn
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from asr import EN, VOICES, ZH

from vtm.speech.audio import SAMPLE_RATE, Audio, load_audio
from vtm.speech.latency import percentile
from vtm.speech.listen import ListenOptions, TurnDetector, TurnEnd, TurnWaits, frames_of
from vtm.speech.smart_turn import TurnCompletion
from vtm.speech.tts import Synthesizer

__all__ = ["PAUSED_EN", "PAUSED_ZH", "end_of_turn_report"]

PAUSED_ZH = [
    ("转给", "张三，呃", "五百块"), ("我想", "嗯", "查一下余额"), ("我的卡号是", "六二二二", "零二一二"),
    ("帮我", "那个", "挂失一下银行卡"), ("我要给", "我妈妈", "转两千元"), ("打印", "呃", "最近三个月的流水"),
    ("我的银行卡", "昨天", "在地铁上丢了"), ("转账给李四，", "金额是", "一万元"),
    ("我想问一下，", "呃", "这张卡的状态"),
    ("请帮我", "冻结", "我的卡"), ("对，", "嗯", "就是这个账户"), ("我要办", "那个", "临时挂失"),
    ("收款人是", "王芳，", "工商银行"), ("转一千五百元", "给", "我儿子"), ("账号是", "六二二八", "四八零三"),
    ("我想", "打印", "上个月的对账单"), ("不是这个，", "呃", "是另外一张卡"), ("查一下", "我的", "余额"),
    ("我要", "嗯", "找人工"), ("身份证号是", "一一零一零一", "一九八五"), ("麻烦", "帮我转", "三百块钱"),
    ("我的卡", "好像", "被机器吞了"), ("给张伟", "那个", "转八百"), ("我想", "补办", "一张新卡"),
    ("最近", "半年的", "流水"),
]
PAUSED_EN = [
    ("Transfer to", "Zhang San, uh", "five hundred yuan"), ("I want to", "um", "check my balance"),
    ("My card number is", "six two two two", "zero two one two"), ("Please", "uh", "block my card"),
    ("I would like to send", "two thousand yuan", "to my mother"),
    ("Print", "um", "the statement for the last three months"), ("I lost my card", "yesterday", "on the subway"),
    ("The payee is", "Li Si,", "at the Bank of China"), ("I want to ask", "uh", "about my card status"),
    ("Can you", "freeze", "my card please"), ("Yes,", "um", "that account"),
    ("I need a", "you know", "temporary loss report"), ("Send", "fifteen hundred", "to my son"),
    ("The account number is", "six two two eight", "four eight zero three"),
    ("I want to print", "last month's", "statement"), ("Not this one,", "uh", "the other card"),
    ("Check", "my", "balance please"), ("I want to", "um", "talk to a person"),
    ("My ID number is", "one one zero one", "zero one one nine"), ("Could you", "transfer", "three hundred yuan"),
    ("My card", "was", "swallowed by the machine"), ("Send eight hundred", "to", "Zhang Wei"),
    ("I'd like to", "order", "a new card"), ("The last", "six months", "of transactions"),
    ("I want to", "well", "report my card as lost"),
]
_LEAD_S, _TAIL_S = 0.5, 3.0


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _pauses(samples: np.ndarray, count: int) -> list[tuple[int, int]]:
    """The ``count`` longest quiet stretches inside the speech (the commas' pauses), in order."""
    window = SAMPLE_RATE // 100
    energy = np.sqrt(np.convolve(samples**2, np.ones(window) / window, mode="same"))
    floor = max(0.003, 0.08 * float(np.percentile(energy, 95)))  # some voice variants breathe in their pauses
    loud = np.flatnonzero(energy >= floor)
    quiet = energy < floor
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i in range(int(loud[0]), int(loud[-1])):
        if quiet[i] and start is None:
            start = i
        elif not quiet[i] and start is not None:
            runs.append((start, i))
            start = None
    longest = sorted(runs, key=lambda r: r[1] - r[0], reverse=True)[:count]
    return sorted(longest) if len(longest) == count and all(b - a > SAMPLE_RATE // 10 for a, b in longest) else []


def _corpus(synth: Synthesizer, work: Path) -> list[tuple[str, str, np.ndarray]]:
    """(lang, kind, samples) with kind "paused" or "complete"."""
    rng = np.random.default_rng(2026)
    out: list[tuple[str, str, np.ndarray]] = []
    for lang, paused, complete in (("zh", PAUSED_ZH, ZH), ("en", PAUSED_EN, EN)):
        comma = "，" if lang == "zh" else ", "
        for i, pieces in enumerate(paused):
            variant, rate = VOICES[i % len(VOICES)]
            path = work / f"eot-{lang}-{i}.wav"
            synth.synthesize(comma.join(p.rstrip("，,") for p in pieces), lang, path, rate=rate,
                             voice_variant=variant)
            speech = load_audio(path).samples
            cuts = _pauses(speech, len(pieces) - 1)
            if not cuts:
                raise RuntimeError(f"{pieces}: the comma pauses were not found in the synthesised audio")
            parts, at = [_silence(_LEAD_S)], 0
            for start, end in cuts:
                parts += [speech[at:start], _silence(float(rng.uniform(0.4, 0.9)))]
                at = end
            out.append((lang, "paused", np.concatenate([*parts, speech[at:], _silence(_TAIL_S)])))
        for i, text in enumerate(complete):
            variant, rate = VOICES[i % len(VOICES)]
            path = work / f"eot-{lang}-c{i}.wav"
            synth.synthesize(text, lang, path, rate=rate, voice_variant=variant)
            out.append((lang, "complete", np.concatenate([_silence(_LEAD_S), load_audio(path).samples,
                                                          _silence(_TAIL_S)])))
    return out


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50)), "p95": round(percentile(values, 95))} if values else {}


def end_of_turn_report(synth: Synthesizer, work: Path, completion: TurnCompletion) -> dict[str, Any]:
    corpus = _corpus(synth, work)
    configs: dict[str, tuple[ListenOptions, TurnCompletion | None]] = {
        "silence 0.6 s (before)": (ListenOptions(), None),
        "silence 0.2 s": (ListenOptions(waits=TurnWaits(0.2, 0.2, 0.2)), None),
        "smart turn (kiosk default)": (ListenOptions(), completion),
        "smart turn, long wait 1.0 s": (ListenOptions(waits=TurnWaits(0.2, 1.0, 0.6)), completion),
    }
    report: dict[str, Any] = {}
    for name, (options, model) in configs.items():
        for lang in ("zh", "en"):
            cut = paused_n = long_waits = 0
            waits: dict[str, list[float]] = {"complete": [], "paused": []}
            model_ms: list[float] = []
            for _, kind, samples in (c for c in corpus if c[0] == lang):
                detector = TurnDetector(options, completion=model)
                turns = [t for f in frames_of(Audio(samples)) if (t := detector.push(f)) is not None]
                if (last := detector.flush()) is not None:
                    turns.append(last)
                if not turns:
                    continue
                final = turns[-1]
                waits[kind].append((final.decided_s - final.speech_end_s + final.completion_s) * 1000)
                if final.completion is not None:
                    model_ms.append(final.completion_s * 1000)
                if kind == "paused":
                    paused_n += 1
                    cut += len(turns) > 1
                elif final.reason is TurnEnd.SILENCE and model is not None:
                    long_waits += 1  # the model never said "complete": the customer waited the long wait
            report[f"{name} / {lang}"] = {
                "false_cutoff": f"{cut}/{paused_n} ({100 * cut / max(paused_n, 1):.1f} %)",
                "wait_ms_complete": _ms(waits["complete"]),
                "wait_ms_paused": _ms(waits["paused"]),
                "complete_turns_waiting_long": f"{long_waits}/{len(waits['complete'])}",
                "model_ms": _ms(model_ms),
            }
    return report
