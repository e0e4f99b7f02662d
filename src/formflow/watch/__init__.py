"""Watching the inbox: which files to take, and when.

junk        which names in the inbox are editor or system junk, never read
stability   when a file has stopped changing and may be read
jobs        the pool of jobs, one file each, run through the pipeline
supervisor  the watchdog observer, restarted if it dies, plus periodic rescans

It imports the pipeline, never the other way round: the file moves themselves are
``formflow.outbox``'s.
"""
