"""Fuzz the dialog: thousands of hostile, absurd and realistic turns; count crashes and consent breaches.

Each conversation runs through the real kiosk (NLU model, dialog, transaction definitions, gate,
sandbox bank on SQLite, simulated devices) with a fresh copy of the demo bank. Turns are drawn at
random from: unicode garbage, injection strings, digit strings of every length after card / account
cues, absurd amounts, very long turns, mixed languages, banking phrases in random order, fillers and
hesitations, device events (cards, PINs, ID scans, face checks, the confirm and cancel buttons),
and silence. The customer always starts a transfer first, so that read-backs really come up.

Counted: turns; incidents (a turn that raised inside the dialog and was isolated); exceptions that
escaped the dialog (a crash); transfers and revocations, and among them any that ran on a turn that
was neither a phrase of the closed yes-list nor the confirm button (a consent breach).

Usage::

    VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/dialog_fuzz.py --turns 10000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from vtm.config import load_settings
from vtm.devices import DeviceError
from vtm.dialog.manager import DialogManager
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.sim import play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner

CARDS = [("6230887983054949930", "955756", "zh"), ("6230887828564293883", "507798", "en"),
         ("6230882187506058218", "197390", "en"), ("6230886438327114557", "391372", "zh"),
         ("6230886486465034368", "372735", "zh"), ("6230882341373183266", "690468", "zh")]
BANKING = {
    "zh": ["我要转账", "给李娜转五百", "转给刘洋", "账号", "卡号", "挂失", "临时挂失", "正式挂失", "查余额",
           "打印流水", "上个月的", "实时到账", "普通到账", "确认", "对", "不对", "取消", "算了", "撤回刚才那笔",
           "转人工", "再说一遍", "示例银行", "工商银行", "一千", "两万", "十万", "五毛", "不用打印", "打印出来",
           "发邮件", "说英语", "谢谢再见"],
    "en": ["I want to transfer money", "send 500 to Li Na", "to Liu Yang", "account number", "card number",
           "I lost my card", "temporary", "formal", "check my balance", "print my statement", "last month",
           "real time", "standard", "confirm", "yes", "no", "cancel", "forget it", "undo that transfer",
           "a person please", "say that again", "Sample Bank", "ICBC", "one thousand", "twenty thousand",
           "no receipt", "print it", "email it", "Chinese please", "thanks bye"],
}
HESITATIONS = ["等一下", "等等", "嗯…", "呃", "hold on", "um", "wait", "let me think", "。。。", "一", "hmm", "对吗",
               "is that right?", "yes but wait", "好的 不过先别转"]
INJECTIONS = ["' OR 1=1 --", "'; DROP TABLE transfers; --", "<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://x}",
              "%s%s%s%n", "../../etc/passwd", "\x00\x01\x02", "\u202e\u202d", "🙂" * 50, "NaN", "Infinity", "-0",
              "1E2", "１２３", "٣٠٠", "१००", "1_000", "9" * 400]
CUES = ["卡号", "账号", "card number", "account", "尾号", "身份证", "手机", ""]
AMOUNTS = ["-5", "0", "0.001", "一万亿", "999999999999999", "三点一四一五九", "五百万", "1e9", "两千三百四十五点六七",
           "半块", "一百零一万", "10^10"]
READ_BACKS = {"transfer.confirm", "revoke.confirm", "card_loss.confirm"}
DEVICE = ["insert_card {card}", "pin {pin}", "pin 000000", "pin_cancel", "take_card", "take_receipt",
          "scan_id 110101198504127691", "scan_id 931826198205057194", "face pass", "face fail", "face refuse",
          "button confirm", "button cancel", "silence 8", "silence 40"]


def _garbage(rng: random.Random) -> str:
    alphabet = [chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 40))]
    return "".join(ch for ch in alphabet if not 0xD800 <= ord(ch) <= 0xDFFF)


def random_turn(rng: random.Random, lang: str, card: str, pin: str) -> Turn:
    kind = rng.random()
    if kind < 0.18:
        return Turn(device=rng.choice(DEVICE).format(card=card, pin=pin))
    if kind < 0.40:
        return Turn(say=" ".join(rng.sample(BANKING[lang], rng.randint(1, 3))))
    if kind < 0.52:
        return Turn(say=rng.choice(HESITATIONS))
    if kind < 0.62:
        return Turn(say=rng.choice(INJECTIONS))
    if kind < 0.74:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        return Turn(say=f"{rng.choice(CUES)}{digits}")
    if kind < 0.82:
        return Turn(say=f"{rng.choice(['转', 'send ', '给李娜转', ''])}{rng.choice(AMOUNTS)}")
    if kind < 0.90:
        return Turn(say=_garbage(rng) or " ")
    if kind < 0.95:
        return Turn(say=" ".join(rng.choice(BANKING["zh"] + BANKING["en"]) for _ in range(rng.randint(20, 200))))
    return Turn(say=rng.choice(BANKING["zh" if lang == "en" else "en"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--per-conversation", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    settings = load_settings()
    runner = ConversationRunner(settings)
    consent = None
    counts: Counter[str] = Counter()
    breaches: list[dict[str, object]] = []
    work = Path(tempfile.mkdtemp(prefix="vtm-fuzz-"))
    started = time.perf_counter()
    try:
        conversation = 0
        while counts["turns"] < args.turns:
            conversation += 1
            card, pin, lang = rng.choice(CARDS)
            script = Script(name="fuzz", lang=lang, turns=[Turn(say="fuzz")])
            services, clock = runner.services_for(script, work / f"c{conversation}")
            consent = services.confirmation
            dm = DialogManager(services, services.new_session(lang), today=DEFAULT_TODAY)  # type: ignore[arg-type]
            dm.start()
            opening = [Turn(device=f"insert_card {card}"), Turn(say=BANKING[lang][0]), Turn(device=f"pin {pin}")]
            turns = opening + [random_turn(rng, lang, card, pin) for _ in range(args.per_conversation)]
            consented = False  # a yes-list phrase or the button since the last read-back was said
            for turn in turns:
                counts["turns"] += 1
                try:
                    rec = play_turn(dm, services.devices, turn, clock.advance)  # type: ignore[arg-type]
                except DeviceError:
                    counts["device_refusals"] += 1  # the simulated hardware refusing (no card to take)
                    continue
                except Exception as exc:  # a crash is what this bench counts
                    counts["crashes"] += 1
                    breaches.append({"crash": f"{type(exc).__name__}: {exc}", "turn": turn.say or turn.device})
                    break
                ops = [op["operation"] for op in rec.operations]
                counts["incidents"] += ops.count("incident")
                said_yes = turn.say is not None and consent.match(turn.say, "zh") is not None
                consented = consented or said_yes or turn.device == "button confirm"
                moved = [op for op in ops if op in ("transfer", "revoke_transfer")]
                if moved:
                    counts["money_movements"] += len(moved)
                    if not consented:
                        counts["consent_breaches"] += 1
                        breaches.append({"moved_without_yes": turn.say or turn.device})
                if any(r.key in READ_BACKS for r in rec.replies):
                    consented = False  # a (new) read-back: only a yes after it counts
            dm.close()
            services.audit.engine.dispose()
            shutil.rmtree(work / f"c{conversation}", ignore_errors=True)
        counts["conversations"] = conversation
    finally:
        runner.close()
        shutil.rmtree(work, ignore_errors=True)
    report = {"seed": args.seed, "elapsed_s": round(time.perf_counter() - started, 1), **counts,
              "examples": breaches[:10], "today": str(date.today())}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    sys.exit(1 if counts["crashes"] or counts["consent_breaches"] or counts["incidents"] else 0)


if __name__ == "__main__":
    main()
