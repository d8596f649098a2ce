"""healthhub.sources."""
