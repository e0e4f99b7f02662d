"""formflow's exception tree.

    FormflowError                 every error formflow raises on purpose
    ├── ConfigError               formflow.toml or --config is unusable
    ├── CalendarError             a date the calendar cannot count from
    ├── PolicyError               a policy file is missing or invalid
    ├── TransitionError           an event the policy does not allow
    ├── RejectedForm              a dropped file that is not a usable challenge form
    └── RenderError               a document could not be written

Every message is a plain-English sentence meant for the person who must act on it.
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
