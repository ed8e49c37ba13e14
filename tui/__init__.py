"""bulk-enroll: Windows bulk-enrollment provisioning packages from a terminal."""

__version__ = "0.1.0"
