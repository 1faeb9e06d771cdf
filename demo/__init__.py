"""The demo: realistic Finnish data through the inbound topics, and the clerk\x27s day through the CLI."""
