"""The billing back-office's test kit: what another system needs to test against us."""
