"""Use cases of the invoicing service: async functions over a unit of work."""
