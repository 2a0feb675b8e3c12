"""Demo data for the review app: scripted sessions played through the real dialog and recorded.

Each script in ``assets/demo_sessions/`` runs on its own freshly seeded sandbox bank (the real
gate, the real NLU model, simulated devices) while every turn is written to the session store
exactly as the kiosk loop writes it; the audit entries the gate and the core calls append go to
the records database too, so the review app's audit status is real.

The customer's spoken lines get audio files synthesised with ``espeak-ng`` (when installed) into
``settings.audio_dir``: the review app's audio player then has something to play. They are a
synthetic voice reading the script, not a recording of anyone.

Sessions are spread over the last days (one script per day, newest last) so the dashboard draws.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from vtm.config import Settings
from vtm.devices.errors import DeviceError
from vtm.dialog.manager import DialogManager
from vtm.keys import load_key
from vtm.kiosk.bootstrap import Parser, bootstrap
from vtm.kiosk.script import Script, load_script
from vtm.kiosk.sim import ScriptClock, play_turn
from vtm.records.store import SessionStore

__all__ = ["DEMO_FOLDER", "seed_demo_sessions"]

DEMO_FOLDER = Path("assets") / "demo_sessions"
_VOICES = {"zh": "cmn", "en": "en"}
_TZ = ZoneInfo("Asia/Shanghai")
_log = logging.getLogger(__name__)


def _speak(text: str, lang: str, target: Path) -> bool:
    """Synthesize ``text`` into ``target`` (WAV); False when espeak-ng is not available."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    # An argument list (no shell) and "--" before the text: the script line cannot become an option.
    subprocess.run(  # noqa: S603
        [espeak, "-v", _VOICES.get(lang, "en"), "-w", str(target), "--", text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return True


def _names(dm: DialogManager) -> list[str]:
    names = [dm.session.customer_name or ""]
    flow = dm.session.flow
    if flow is not None:
        names.extend(str(v) for k, v in flow.slots.items() if k.endswith("name") and isinstance(v, str))
    return [n for n in names if n]


def _seed_bank(work: Path, today: date) -> None:
    from vtm.banking.sandbox import create_bank_engine
    from vtm.banking.sandbox.seed import seed_demo_bank

    engine = create_bank_engine(f"sqlite:///{work / 'bank.sqlite3'}")
    seed_demo_bank(engine, today=today, reset=True)
    engine.dispose()


def _play(settings: Settings, store: SessionStore, script: Script, today: date, nlu: Parser, work: Path) -> str:
    work.mkdir(parents=True)
    _seed_bank(work, today)
    run_settings = settings.model_copy(
        update={
            "data_dir": work,
            "bank_database_url": None,
            "bank_url": None,
            "records_database_url": settings.records_db_url,
            # The runs write into the review app's own audit chain: same sealing key, same anchors.
            "audit_key": load_key(settings.keys_dir, "audit", configured=settings.audit_key).hex(),
            "audit_anchor_dir": settings.audit_anchors_path,
            "models_dir": settings.models_path,
            "content_dir": settings.content_root,
        }
    )
    clock = ScriptClock(today)
    # The demo writes the record itself (with the synthesised customer audio), so the dialog does not.
    services = bootstrap(run_settings, clock=clock, nlu=nlu, record=False)
    dm = DialogManager(services, services.new_session(script.lang), today=today)
    session = dm.session
    store.open_session(session.session_id, settings.kiosk_id, session.lang, session.started_at)
    store.record_turn(session.session_id, dm.start(), _names(dm), ts=clock())
    for number, turn in enumerate(script.turns, start=1):
        try:
            record = play_turn(dm, services.devices, turn, clock.advance)  # type: ignore[arg-type]
        except DeviceError as exc:
            # The dialog changed under the script (no receipt to take...): keep what was recorded.
            _log.warning("demo script %s stopped at turn %d: %s", script.name, number, exc)
            break
        audio = None
        if turn.say is not None:
            path = settings.audio_dir / f"{session.session_id}-{record.turn}.wav"
            audio = str(path) if _speak(turn.say, script.lang, path) else None
        store.record_turn(session.session_id, record, _names(dm), audio_path=audio, device_raw=turn.device, ts=clock())
        if session.ended:
            break
    store.close_session(
        session.session_id, session.outcome.value, list(session.transactions_done), session.customer_id, clock()
    )
    services.audit.engine.dispose()
    return session.session_id


def seed_demo_sessions(
    settings: Settings, scripts: list[Path] | None = None, *, nlu: Parser | None = None, today: date | None = None
) -> list[str]:
    """Play the demo scripts and record them; returns the new session ids."""
    folder = settings.content_root / DEMO_FOLDER
    paths = scripts or sorted(folder.glob("*.yaml"))
    if nlu is None:
        from vtm.nlu.parser import NluParser

        nlu = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu", train_if_missing=True)
    store = SessionStore.from_settings(settings)
    last_day = today or datetime.now(UTC).astimezone(_TZ).date()
    work = Path(tempfile.mkdtemp(prefix="vtm-demo-"))
    ids: list[str] = []
    try:
        for i, path in enumerate(paths):
            script = load_script(path)
            day = script.today or last_day - timedelta(days=len(paths) - 1 - i)
            ids.append(_play(settings, store, script, day, nlu, work / f"run-{i}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ids
