"""Telling people and systems: in-app and email notifications, calendar feeds, outbound webhooks."""
