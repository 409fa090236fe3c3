"""Command-line applications built on a Session."""
