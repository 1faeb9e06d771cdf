"""Customers service: customer cards (*asiakaskortti*), billing-data validation, and
billing profiles for the other services (compacted topic, key = customer number)."""
