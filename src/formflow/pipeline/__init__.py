"""The pipeline: from a claimed file (or a tick, or an event recorded for someone) to the
register and the outbox.

job        the per-file job and its steps, in order (``Pipeline``)
claims     who has a claimed file or staging folder: rows in the register, a heartbeat
deadlines  the deadline sweep: overdue responses moved on, agreed actions reminded
events     events recorded for someone: withdraw, close, extend, reassign, amend, merge
packs      the CAFCASS pack of a challenge in the register, recorded as an event
outputs    what all four share: stage documents and emails, record, publish
notices    covering emails: an .eml draft beside each document, sent over SMTP
services   the seam: the form reader, document writers, clock and tracker cue it calls
result     how a file ended (Outcome, Result) and the line the CLI prints

It may import the core, intake, render (through ``Services``), the outbox, the register
(``formflow.store``) and the reports (a draft gives the child's initials only); the
watcher and the commands import it, never the other way round.
"""

from formflow.pipeline.job import Job, Pipeline
from formflow.pipeline.result import Outcome, Result
from formflow.pipeline.services import DocumentWriter, FormReader, Services

__all__ = ["DocumentWriter", "FormReader", "Job", "Outcome", "Pipeline", "Result", "Services"]
