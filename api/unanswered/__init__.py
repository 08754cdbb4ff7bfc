"""Questions the bot could not answer well, kept redacted for the privacy team to review."""
