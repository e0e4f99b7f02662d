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
    ├── AccountError              a dashboard user name or password that cannot be used
    ├── RetentionError            a disposal, hold or subject access that cannot be done
    ├── ChallengeBusy             other jobs kept changing a challenge while one rendered
    └── ChallengeChanged          a challenge changed after the page that acts on it was drawn

Every message is a plain-English sentence meant for the person who must act on it. The
command line turns any ``FormflowError`` into "Error: <message>" in one place
(``formflow.cli``). A dropped form that meets one is rejected, its note ending with the
error's ``advice``: what to do next, which is not always to correct the form.
"""

from __future__ import annotations


class FormflowError(Exception):
    """Base class: an error with a message a person can act on."""

    advice = "Correct the form and drop it into the inbox again."
    """The last line of a rejected form's note: what its maker does next."""

    def __init__(self, *args: object, advice: str | None = None) -> None:
        super().__init__(*args)
        if advice is not None:
            self.advice = advice


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

    def __init__(self, reasons: list[str], *, advice: str | None = None) -> None:
        super().__init__("\n".join(reasons), advice=advice)
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


class RetentionError(FormflowError):
    """A disposal, hold, release or subject access request refused, said so the records
    manager knows why and what to do."""


class ChallengeBusy(FormflowError):
    """Other jobs kept changing a challenge while this one rendered. Not the form's fault,
    but a file is never left to retry for ever: it is set aside with a note that says so."""

    advice = (
        "Nothing is wrong with the form: formflow was busy with other forms for the same "
        "challenge. Drop it into the inbox again."
    )


class ChallengeChanged(FormflowError):
    """Someone (or a dropped form) changed a challenge between the page that showed it and
    the action taken on that page: the action is refused, nothing recorded, so nobody
    decides on a record they have not seen."""
