"""The version of keen-import: written into every manifest; pyproject.toml reads it from here."""

__version__ = "0.2.0"
