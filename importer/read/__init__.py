"""Read stage: file checks, the loader of CSV files and workbooks (every kind of
:mod:`importer.read.kinds`) and header detection."""
