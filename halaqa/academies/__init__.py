"""Tenancy and people: academies, users, memberships and roles, guardianships, auth, API keys."""
