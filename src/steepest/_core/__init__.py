"""Internal helpers shared by every layer (errors, configuration)."""
