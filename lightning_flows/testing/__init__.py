"""Test cases of workflows: a named input and the output expected from it."""
