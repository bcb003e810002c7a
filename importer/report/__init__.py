"""Report stage: results file, manifest, created list and templates."""
