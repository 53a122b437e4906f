"""The web UI, mounted into the API app."""
