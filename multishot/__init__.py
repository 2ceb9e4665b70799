"""multishot: render a film from a screenplay-style YAML shot list."""

__version__ = "0.1.0"
