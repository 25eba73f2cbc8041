"""Database layer: engine, session scope, base model, portable types."""
