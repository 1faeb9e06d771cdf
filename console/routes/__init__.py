"""One router per tab (plus the customer card, dead letters and job progress)."""
