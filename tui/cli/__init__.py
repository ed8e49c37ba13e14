"""The ``bulk-enroll`` command: the entry point and one module per subcommand."""
