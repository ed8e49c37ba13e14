"""The project: its model, rules, file, session, recent projects and token register."""
