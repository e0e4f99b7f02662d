"""formflow's exception tree.

    FormflowError                 every error formflow raises on purpose
    ├── ConfigError               formflow.toml or --config is unusable
    ├── CalendarError             a date the calendar cannot count from
    ├── PolicyError               a policy file is missing or invalid
    ├── TransitionError           an event the policy does not allow
    ├── RejectedForm              a dropped file that is not a usable challenge form
    ├── RenderError               a document could not be written
    ├── RegisterError             the register cannot be opened or is from a newer formflow
    ├── NoticeError               a notice could not be drafted or sent
    ├── BackupError               a backup cannot be made, or a restore cannot trust its source
    └── AccountError              a dashboard user name or password that cannot be used

    TryAgainLater                 not anyone's fault: the work is tried again later
    └── ChallengeBusy             other jobs kept changing a challenge while one rendered

Every message is a plain-English sentence meant for the person who must act on it. The
command line turns any ``FormflowError`` into "Error: <message>" in one place
(``formflow.cli``). ``TryAgainLater`` is deliberately not a ``FormflowError``: a job that
meets one keeps its file claimed and retries, where a ``FormflowError`` rejects the form.
"""

from __future__ import annotations


class FormflowError(Exception):
    """Base class: an error with a message a person can act on."""


class ConfigError(FormflowError):
    pass


class CalendarError(FormflowError):
    pass


class PolicyError(FormflowError):
    pass


class TransitionError(FormflowError):
    pass


class RejectedForm(FormflowError):
    """A file that cannot become a challenge record; ``reasons`` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("\n".join(reasons))
        self.reasons = reasons


class RenderError(FormflowError):
    pass


class RegisterError(FormflowError):
    """The register cannot be opened or is from a newer formflow."""


class NoticeError(FormflowError):
    """A notice could not be drafted or sent."""


class BackupError(FormflowError):
    """A backup cannot be made, or a restore cannot trust or place its source."""


class AccountError(FormflowError):
    """A user name or password that cannot be used, said so the person can fix it."""


class TryAgainLater(Exception):
    """Work that could not finish for a passing reason, not the form's fault."""


class ChallengeBusy(TryAgainLater):
    """Other jobs kept changing a challenge while this one rendered; not the form's
    fault, so the file stays claimed and is tried again (Outcome.RETRY), never rejected."""
