"""The dashboard: ``formflow serve``, the register's pages for people without a terminal.

    accounts   who may sign in (beside the register: ``var/users.db``, or ``dashboard_*``
               tables on PostgreSQL): Argon2id hashes, sessions, rate limit, each user's
               role and the ``[directory]`` person they are
    access     who may see and do what: roles, need-to-know, refusals (every decision)
    views      what each page shows, read through the register's read methods
    charts     the annual report's bar charts, drawn as SVG on the server
    app        the Flask application: sign-in, CSRF, pages, downloads, the audit trail
    access     who may see and do what (roles, need-to-know)
    actions    acting on a challenge, and uploading a form, through the pipeline
    server     waitress around it, alone (``serve``) or beside the watcher (``watch``)

Pages are server-side Jinja templates with autoescaping and no JavaScript at all. Every
view of a challenge's page is an event (``viewed``) in the register's audit trail, as
are downloads and sign-ins; logs name the reference and the user, never the child.

It reads the register and may import the core, render, the register (``formflow.store``),
the reports, the outbox, and the pipeline for what a person records (``actions``: the
same path as the commands); never the watcher or the commands.
"""
