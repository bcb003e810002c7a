"""Check stage: mapping, parsing, column decisions, row validation, control totals."""
