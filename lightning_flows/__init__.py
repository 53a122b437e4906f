"""Lightning Flows: workflow automation for governments and NGOs, on Prefect and OpenFn adaptors."""

__version__ = "0.1.0"
