"""Staff console: server-rendered pages for the privacy team."""
