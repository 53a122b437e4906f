-- The Prefect server keeps its own database beside the platform's.
CREATE DATABASE prefect OWNER lightning;
