"""pytest fixtures of the test kit (filled in by the kit's own module)."""
