"""What the register says, for people: reports and the live tracking spreadsheet.

tables   open challenges, a timeline, the tracking spreadsheet's rows, a year's figures
         (pure over the records; only the child's initials and case number, never a name)
tracker  ``outbox/tracker.xlsx`` and ``tracker.csv``, rewritten after every change

It may import the core, ``config``, ``policy_catalogue``, the outbox's private writes and
the register; the pipeline (for a draft's initials), the dashboard and the commands import
it, never the other way round.
"""
