"""healthhub.engines."""
