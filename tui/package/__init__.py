"""Provisioning packages: compiling settings to provisioning documents, building, inspecting."""
