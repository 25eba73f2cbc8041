"""The `halaqa` command."""
