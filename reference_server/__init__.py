"""CPython reference server of the two-factor login protocol: the executable reading of the spec."""

__version__ = "1"
