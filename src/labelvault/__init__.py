"""labelvault: self-hosted, vendor-neutral platform for producing AI training data."""

__version__ = "0.1.0"
