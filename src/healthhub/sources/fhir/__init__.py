"""healthhub.sources.fhir."""
