"""The register and its upkeep: what formflow remembers, and keeping it whole.

register  the SQLite register: challenges, files, events, documents, notices, deadlines
check     ``formflow check``: does the register agree with itself and with the folders?
backup    ``formflow backup`` and ``restore``: the register with the files it lists
sealed    the same backup encrypted with age (``--encrypt-to``), and its restore
retention legal holds, a recorded death, and disposal all or nothing (with a journal)

It may import the core, ``errors`` and the outbox (the home's folders and private
writes); the pipeline, the reports, the watcher, the dashboard and the commands
import it, never the other way round.
"""
