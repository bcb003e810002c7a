"""Send stage: HTTP client and transport, the sender, preflight and edited rows."""
