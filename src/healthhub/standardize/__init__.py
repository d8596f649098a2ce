"""Standardisation: source codes to OMOP standard concepts, staging rows to OMOP CDM v5.4."""
