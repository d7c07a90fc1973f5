"""Command-line entry points (absl apps). Each parses flags, builds a config, calls the library."""
