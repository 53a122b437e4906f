"""Emails about changes to a project, for the members who asked for them."""
