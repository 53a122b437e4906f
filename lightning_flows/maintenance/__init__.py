"""The platform's own maintenance: data retention, run as scheduled Prefect flows."""
