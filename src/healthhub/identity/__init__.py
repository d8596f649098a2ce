"""Identity: the only package that reads direct identifiers; pseudonyms for the warehouse."""
