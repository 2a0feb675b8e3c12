"""ASR accuracy and latency on kiosk phrases, per language and voice.

Voices: ``espeak`` (our own TTS, espeak-ng, both languages) and, for Mandarin, ``human3`` and
``human5``: two people's recorded syllables joined into the sentence (``bench/human_voice.py``,
Debian's gcin-voice). Prints, per decoding configuration and voice: CER (zh) / WER (en) over all
utterances, the same after the kiosk's domain-aware step (the homophone repair of
``vtm.kiosk.voice.domain_repairer``, for the languages ``VoiceOptions.repair_langs`` wires), the
share judged usable and the error over those, and ASR latency p50 / p95. Mandarin from espeak-ng is
robotic and the joined syllables have no sentence melody: neither is read speech.

    .venv/bin/python bench/asr.py [--threads 1] [--configs beam5,beam1,beam5-chunk10,window30,window15]
                                  [--voices espeak,human3,human5] [--sentences FILE.csv] [--json]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import statistics
import tempfile
from pathlib import Path

import cn2an
import zhconv
from rapidfuzz.distance import Levenshtein

from vtm.kiosk.voice import VoiceOptions, domain_repairer
from vtm.speech.asr import AsrOptions, Recognizer
from vtm.speech.audio import Audio, load_audio
from vtm.speech.latency import percentile
from vtm.speech.tts import Synthesizer

ZH = [
    *(f"我的银行卡{x}" for x in ("丢了", "被偷了", "找不到了", "不见了")),
    *(f"我要{x}" for x in ("挂失", "冻结我的卡", "补办银行卡", "转账", "打印对账单", "查余额")),
    *(f"给{who}转{amt}元" for who, amt in itertools.product(("张三", "我妈妈", "李四"), ("五百", "两千", "一万"))),
    *(f"打印最近{p}的流水" for p in ("三个月", "一个月", "半年", "一年")),
    *(f"我想查一下{x}" for x in ("余额", "上个月的账单", "这张卡的状态")),
    "是的",
    "对",
    "不对",
    "确认",
    "取消",
    "不办了",
    "我要找人工",
    "请再说一遍",
    "卡号是六二二二零二一二",
    "临时挂失",
    "正式挂失",
    "谢谢",
    "好的",
    "帮我查一下流水",
    "转账一千五百元",
    "我的卡被机器吞了",
]
EN = [
    *(f"I {x} my bank card" for x in ("lost", "can not find", "need to block", "want to freeze")),
    *(f"Please {x}" for x in ("report my card as lost", "block my card", "print my statement", "check my balance")),
    *(
        f"Transfer {amt} yuan to {who}"
        for who, amt in itertools.product(("Zhang San", "my mother", "Li Si"), (500, 2000, 5000))
    ),
    *(f"I want a statement for the last {p}" for p in ("three months", "month", "six months", "year")),
    *(f"Send {amt} to my savings account" for amt in (300, 1500, 8000)),
    "Yes",
    "No",
    "That is correct",
    "Cancel",
    "I want to talk to a person",
    "Can you repeat that",
    "My card number is 6222 0212",
    "A temporary loss report please",
    "Thank you",
    "What is my balance",
    "Freeze it now",
    "Not that one",
    "Okay",
    "Please stop",
    "Transfer two hundred yuan",
    "My card was stolen yesterday",
    "Print the statement for March",
    "How much can I transfer today",
]
VOICES = [(None, 150), ("m3", 135), ("f2", 165)]  # (espeak-ng variant, words per minute)
CONFIGS = {
    "beam5": AsrOptions(cpu_threads=1),
    "beam1": AsrOptions(cpu_threads=1, beam_size=1),
    "beam5-chunk10": AsrOptions(cpu_threads=1, chunk_length=10),
    "beam5-noprompt": AsrOptions(cpu_threads=1, prompt_zh=None),
    # The encoder's window (vtm.speech.whisper_window): the default is 10 s at least, speech + 1 s.
    "window30": AsrOptions(cpu_threads=1, encoder_min_s=None),
    "window15": AsrOptions(cpu_threads=1, encoder_min_s=15.0, encoder_pad_s=2.0),
    "window5": AsrOptions(cpu_threads=1, encoder_min_s=5.0),
}


def _terms_configs(root: Path) -> dict[str, AsrOptions]:
    """The domain prompt candidates, from the kiosk's own words (``vtm.kiosk.voice.repair_terms``).

    ``terms-hotwords``: every Mandarin service word and bank name as faster-whisper hotwords;
    ``terms-prompt``: the same words after the fixed prompt; ``services-hotwords``: only the service
    words of ``dialogs/asr_terms.yaml`` (no bank names: all of them exceed faster-whisper's 223
    hotword tokens). Fixed before any held-out sentence was read (2026-12-05).
    """
    from vtm.kiosk.voice import repair_terms
    from vtm.nlu.entities.lexicon import load_lexicon
    from vtm.speech.asr_terms import load_asr_terms

    words = "，".join(repair_terms(root, load_lexicon(root / "dialogs" / "nlu" / "lexicon")).zh)
    services = "，".join(load_asr_terms(root / "dialogs" / "asr_terms.yaml").zh)
    return {"terms-hotwords": AsrOptions(cpu_threads=1, hotwords_zh=words),
            "terms-prompt": AsrOptions(cpu_threads=1, prompt_zh=f"以下是普通话的句子。{words}。"),
            "services-hotwords": AsrOptions(cpu_threads=1, hotwords_zh=services)}


def norm_zh(text: str) -> str:
    text = str(cn2an.transform(zhconv.convert(text, "zh-cn"), "an2cn"))
    return re.sub(r"[\W_]+", "", text)


def norm_en(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", re.sub(r"(?<=\d),(?=\d)", "", text.lower())).split()


def error(ref: str, hyp: str, lang: str) -> tuple[int, int]:
    if lang == "zh":
        r, h = norm_zh(ref), norm_zh(hyp)
        return Levenshtein.distance(r, h), len(r)
    rw, hw = norm_en(ref), norm_en(hyp)
    return Levenshtein.distance(rw, hw), len(rw)


def _corpus(voices: list[str], work: Path, zh: list[str], en: list[str]
            ) -> tuple[list[tuple[str, str, str, Audio]], list[float]]:
    """(voice, lang, text, audio) for every phrase each voice can say, and espeak-ng's TTS times."""
    from human_voice import HumanVoice, VoiceMissing

    corpus: list[tuple[str, str, str, Audio]] = []
    tts_s: list[float] = []
    if "espeak" in voices:
        with Synthesizer() as synth:
            for lang, texts in (("zh", zh), ("en", en)):
                for i, text in enumerate(texts):
                    variant, rate = VOICES[i % len(VOICES)]
                    speech = synth.synthesize(text, lang, work / f"{lang}-{i}.wav", rate=rate, voice_variant=variant)
                    corpus.append(("espeak", lang, text, load_audio(speech.path)))
                    tts_s.append(speech.tts_s)
    for voice in (v for v in voices if v.startswith("human")):
        person = HumanVoice(voice.removeprefix("human"))
        for text in zh:
            try:
                corpus.append((voice, "zh", text, Audio.from_array(person.render(text))))
            except VoiceMissing:  # a syllable this speaker never recorded: the sentence is left out
                continue
    return corpus, tts_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--configs", default="beam5")
    parser.add_argument("--voices", default="espeak", help="comma-separated: espeak, human3, human5")
    parser.add_argument("--sentences", type=Path, default=None,
                        help="a CSV with a `text` column: Mandarin sentences to say instead of the phrase lists")
    parser.add_argument(
        "--models", type=Path, default=Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    root = Path(__file__).resolve().parents[1]
    zh, en = ZH, EN
    if args.sentences:
        zh, en = [row["text"] for row in csv.DictReader(args.sentences.open(encoding="utf-8"))], []
    corpus, tts_s = _corpus(args.voices.split(","), Path(tempfile.mkdtemp(prefix="vtm-bench-asr-")), zh, en)
    wanted = args.configs.split(",")
    # the domain-term configurations read the content: only when one of them is asked for
    configs = {**CONFIGS, **(_terms_configs(root) if set(wanted) - set(CONFIGS) else {})}
    repairer = domain_repairer(root)
    repairer.warm_up()
    voice_options = VoiceOptions()
    report: dict[str, object] = {
        "utterances": {f"{voice}/{lang}": sum(1 for c in corpus if c[:2] == (voice, lang))
                       for voice, lang in dict.fromkeys(c[:2] for c in corpus)},
    }
    if tts_s:
        report["espeak_tts_ms"] = {"p50": round(percentile(tts_s, 50) * 1000, 1),
                                   "p95": round(percentile(tts_s, 95) * 1000, 1)}
    for name in wanted:
        options = configs[name]
        recognizer = Recognizer(
            args.models / "whisper-base", AsrOptions(**{**options.__dict__, "cpu_threads": args.threads})
        )
        recognizer.warm_up()
        for voice, lang in dict.fromkeys(c[:2] for c in corpus):
            errs = fixed_errs = total = usable_errs = usable_total = usable = 0
            times: list[float] = []
            for _, _, text, audio in (c for c in corpus if c[:2] == (voice, lang)):
                result = recognizer.transcribe(audio, lang)  # type: ignore[arg-type]
                e, n = error(text, result.heard, lang)
                repaired = voice_options.repaired(repairer, result.heard, lang)
                errs, fixed_errs, total = errs + e, fixed_errs + error(text, repaired, lang)[0], total + n
                if result.usable:
                    usable += 1
                    usable_errs, usable_total = usable_errs + e, usable_total + n
                times.append(result.asr_s)
            metric = "cer" if lang == "zh" else "wer"
            report[f"{name}/{voice}/{lang}"] = {
                metric: round(errs / total, 3),
                f"{metric}_repaired": round(fixed_errs / total, 3),
                f"{metric}_usable": round(usable_errs / usable_total, 3) if usable_total else None,
                "usable": f"{usable}/{len(times)}",
                "asr_ms_p50": round(percentile(times, 50) * 1000),
                "asr_ms_p95": round(percentile(times, 95) * 1000),
                "asr_ms_mean": round(statistics.mean(times) * 1000),
            }
            if not args.json:
                print(name, voice, lang, report[f"{name}/{voice}/{lang}"], flush=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print({k: v for k, v in report.items() if "/" not in k or k.count("/") == 1})


if __name__ == "__main__":
    main()
