"""Subcommands of ``bulk-enroll``: one module each.

Every module defines ``NAME`` (the subcommand), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules import their heavy
dependencies inside ``run`` so that ``bulk-enroll`` starts quickly.
"""
