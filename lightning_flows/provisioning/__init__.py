"""Projects as code: OpenFn's project spec, the provision API and its documents."""
