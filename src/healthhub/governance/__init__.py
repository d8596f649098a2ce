"""Governance: who did what, and (later) users, projects, permits and their workflow."""
