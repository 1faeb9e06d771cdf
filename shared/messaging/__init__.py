"""Kafka and database plumbing for exactly-once effects over at-least-once delivery."""
