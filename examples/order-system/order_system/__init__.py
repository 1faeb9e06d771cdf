"""An imagined order system: orders of magazine subscriptions and notices (ads)."""
