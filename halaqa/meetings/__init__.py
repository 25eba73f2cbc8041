"""Meeting rooms: providers (LiveKit, meeting links), who gets in, and what rooms report."""
