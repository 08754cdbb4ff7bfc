"""The dev domain has no tables of its own (it reads the outbox)."""
