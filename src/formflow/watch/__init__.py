"""Watching the inbox: which files to read, when, and how a watcher claims one.

folders     the home folder's layout and the file moves (claim, stage, publish,
            archive, reject), each atomic and safe to repeat
junk        which names in the inbox are editor or system junk, never read
stability   when a file has stopped changing and may be read
supervisor  the watchdog observer, restarted if it dies, plus periodic rescans
"""
