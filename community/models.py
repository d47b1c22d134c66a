"""Community models."""
