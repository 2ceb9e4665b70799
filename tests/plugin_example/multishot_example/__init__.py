"""An example third-party package for multishot: one paradigm, one transition, one backend,
each in a file of its own and registered through entry points (see entry_points.txt)."""
