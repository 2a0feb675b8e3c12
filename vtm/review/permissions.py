"""Who may undo another staff member's work on a session.

Tags: the staff member who added a tag may remove it; a supervisor or an admin may remove anyone's.
A reviewer may not remove another person's tag: a supervisor's tag ("complaint", "needs-review")
directs and records oversight, and must not vanish at the hand of the person it oversees; a
fellow reviewer's tag is that reviewer's judgement, to be answered with another tag or a note.
Every removal, and every refused attempt, is written to the staff access log (and a removal to
the audit chain) with the actor, the actor's role, the tag and its owner.

Notes are never deleted (there is no route for it): a review note is part of the record of the
review; a wrong note is corrected by a later note.
"""

from __future__ import annotations

from vtm.review.users import Role, StaffUser

__all__ = ["may_remove_tag"]


def may_remove_tag(actor: StaffUser, owner: str) -> bool:
    """Whether ``actor`` may remove a tag that ``owner`` (a username) added."""
    return actor.username == owner or actor.role.at_least(Role.SUPERVISOR)
