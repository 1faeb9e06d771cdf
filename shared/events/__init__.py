"""The contract: event models, envelope and topics. Services import these, never each other."""
