"""Usage limits: runs per calendar month and concurrent runs, per project."""
