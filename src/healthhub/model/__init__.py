"""healthhub.model."""
