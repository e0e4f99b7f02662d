"""The home's folders and every move of a file in them.

``folders``: the layout (inbox, its claims and rejections, outbox, staging, archive) and
the moves, each atomic and safe to repeat: claim, hold, publish, archive, reject, free
names. ``files``: writing a file whole and owner-only, and printing a file's name safely.
It may import the standard library, ``formflow.errors`` and itself; the pipeline, the
watcher, the renderers and the commands import it, never the other way round.
"""
