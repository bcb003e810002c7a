"""Read stage: file checks, the CSV/XLSX/XLS loader and header detection."""
