"""The stage engine: pure functions over a challenge, its policy, the calendar and a date.

``assess`` says where a challenge stands (who must respond, by when, what is overdue);
``apply`` turns one event into the next state of the record, or refuses it with a
``TransitionError`` whose message says why. Nothing here reads a clock or a file.

    Raise ──► awaiting response ──Respond(resolved)──► resolved, actions tracked
                 │   ▲                                   │
                 │   └──── ActionsNotImplemented ◄───────┘
                 ├─Respond(not resolved) / ResponseOverdue──► next stage (awaiting response)
                 │                                         └─ top of the ladder:
                 │                                             child in care ► CAFCASS consideration
                 │                                             otherwise     ► closed unresolved
                 └─RequestCafcass──► referred (or concurrent with the escalation)

One module a job: ``events``, ``deadlines``, ``assessment``, ``transitions`` and
``dropped_form``; the names other modules use are re-exported here.
"""

from formflow.core.engine.assessment import assess, outstanding_duties, status_of
from formflow.core.engine.deadlines import current_due, deadline
from formflow.core.engine.dropped_form import (
    COMPARED,
    DEADLINE_ACTOR,
    actor_of,
    events_for,
    has_answer,
    ladder_working_days,
    notification_warnings,
    reason_of,
    with_form_updates,
)
from formflow.core.engine.events import (
    AMENDABLE,
    CLOSED,
    ActionsNotImplemented,
    Amend,
    Assessment,
    CloseUnresolved,
    Document,
    Escalate,
    Event,
    ExtendDeadline,
    LateResponse,
    MergeInto,
    Raise,
    Reassign,
    RequestCafcass,
    Respond,
    ResponseOverdue,
    Status,
    Transition,
    Withdraw,
)
from formflow.core.engine.transitions import apply, check_mergeable

__all__ = [
    "AMENDABLE",
    "CLOSED",
    "COMPARED",
    "DEADLINE_ACTOR",
    "ActionsNotImplemented",
    "Amend",
    "Assessment",
    "CloseUnresolved",
    "Document",
    "Escalate",
    "Event",
    "ExtendDeadline",
    "LateResponse",
    "MergeInto",
    "Raise",
    "Reassign",
    "RequestCafcass",
    "Respond",
    "ResponseOverdue",
    "Status",
    "Transition",
    "Withdraw",
    "actor_of",
    "apply",
    "assess",
    "check_mergeable",
    "current_due",
    "deadline",
    "events_for",
    "has_answer",
    "ladder_working_days",
    "notification_warnings",
    "outstanding_duties",
    "reason_of",
    "status_of",
    "with_form_updates",
]
