"""Removable drives: discovery and the safe, verified write."""
