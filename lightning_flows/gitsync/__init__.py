"""Git sync: a project's spec, state and job files kept in a git branch, both ways."""
