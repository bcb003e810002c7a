"""Send stage: HTTP client and transport, the sender, journal, preflight and resume."""
