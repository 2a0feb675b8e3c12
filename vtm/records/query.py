"""The session list query: filters, free-text search and pagination, as one SQL statement.

Every value a user typed reaches the database only as a bound parameter; the search term is
matched with ``ILIKE`` and escaped (``%`` and ``_`` are literal), so ``' OR 1=1 --`` is just a
string nobody said.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, Select, and_, exists, func, or_, select

from vtm.records.schema import session_tags, session_transactions, sessions, turns
from vtm.records.views import SessionFilter, SessionPage, SessionSummary

__all__ = ["all_summaries", "list_sessions", "summaries_for"]

_MAX_PER_PAGE = 200
_REF_SHOWN = 12  # hex characters of the customer pseudonym shown to staff


def _filtered(filters: SessionFilter) -> Select[str]:
    query = select(sessions.c.session_id)
    conditions = []
    if filters.started_from is not None:
        conditions.append(sessions.c.started_at >= filters.started_from)
    if filters.started_before is not None:
        conditions.append(sessions.c.started_at < filters.started_before)
    if filters.kiosk_id:
        conditions.append(sessions.c.kiosk_id == filters.kiosk_id)
    if filters.lang:
        conditions.append(sessions.c.lang == filters.lang)
    if filters.outcome is not None:
        conditions.append(sessions.c.outcome == filters.outcome.value)
    if filters.handed_off:
        conditions.append(sessions.c.outcome == "handed_off")
    if filters.verdict == "deny":
        conditions.append(sessions.c.has_deny.is_(True))
    elif filters.verdict == "refer":
        conditions.append(sessions.c.has_refer.is_(True))
    if filters.asr_below is not None:
        conditions.append(sessions.c.min_asr_confidence < filters.asr_below)
    if filters.transaction:
        conditions.append(
            exists().where(
                session_transactions.c.session_id == sessions.c.session_id,
                session_transactions.c.name == filters.transaction,
            )
        )
    if filters.tagged or filters.tag:
        tag_match = [session_tags.c.session_id == sessions.c.session_id]
        if filters.tag:
            tag_match.append(session_tags.c.tag == filters.tag)
        conditions.append(exists().where(*tag_match))
    term = (filters.search or "").strip()
    if term:
        conditions.append(
            or_(
                sessions.c.session_id.icontains(term, autoescape=True),
                exists().where(
                    turns.c.session_id == sessions.c.session_id,
                    or_(
                        turns.c.user_text.icontains(term, autoescape=True),
                        turns.c.bot_json.icontains(term, autoescape=True),
                        turns.c.intent.icontains(term, autoescape=True),
                    ),
                ),
            )
        )
    return query.where(and_(*conditions)) if conditions else query


def list_sessions(
    conn: Connection, filters: SessionFilter, *, page: int = 1, per_page: int = 25
) -> SessionPage:
    per_page = max(1, min(per_page, _MAX_PER_PAGE))
    page = max(1, page)
    ids_query = _filtered(filters)
    total = int(conn.execute(select(func.count()).select_from(ids_query.subquery())).scalar_one())
    page_ids = [
        r[0]
        for r in conn.execute(
            ids_query.order_by(sessions.c.started_at.desc(), sessions.c.session_id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ]
    return SessionPage(summaries_for(conn, page_ids), total, page, per_page)


def all_summaries(conn: Connection, filters: SessionFilter) -> list[SessionSummary]:
    ids = [r[0] for r in conn.execute(_filtered(filters).order_by(sessions.c.started_at))]
    found: list[SessionSummary] = []
    for i in range(0, len(ids), 500):  # bounded IN lists
        found.extend(summaries_for(conn, ids[i : i + 500]))
    return found


def summaries_for(conn: Connection, session_ids: Sequence[str]) -> list[SessionSummary]:
    """Summaries of ``session_ids``, in that order (unknown ids are left out)."""
    if not session_ids:
        return []
    ids = list(session_ids)
    txns: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(
        select(session_transactions)
        .where(session_transactions.c.session_id.in_(ids))
        .order_by(session_transactions.c.session_id, session_transactions.c.position)
    ):
        txns[row.session_id].append(row.name)
    tags: dict[str, set[str]] = defaultdict(set)
    for row in conn.execute(
        select(session_tags.c.session_id, session_tags.c.tag).where(session_tags.c.session_id.in_(ids))
    ):
        tags[row.session_id].add(row.tag)
    rows = {r.session_id: r for r in conn.execute(select(sessions).where(sessions.c.session_id.in_(ids)))}
    return [
        SessionSummary(
            session_id=r.session_id,
            kiosk_id=r.kiosk_id,
            lang=r.lang,
            started_at=r.started_at,
            ended_at=r.ended_at,
            outcome=r.outcome,
            transactions=tuple(txns[r.session_id]),
            turn_count=r.turn_count,
            has_deny=bool(r.has_deny),
            has_refer=bool(r.has_refer),
            min_asr_confidence=r.min_asr_confidence,
            customer_ref=None if r.customer_ref_hash is None else r.customer_ref_hash[:_REF_SHOWN],
            tags=tuple(sorted(tags[r.session_id])),
            purged=r.purged_at is not None,
        )
        for sid in ids
        if (r := rows.get(sid)) is not None
    ]
