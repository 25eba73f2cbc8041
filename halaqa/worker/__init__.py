"""The background worker: periodic steps now, the jobs table and due-scan as they arrive."""
