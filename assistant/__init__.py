"""Sotong gateway: conversation core, Rasa client, custom actions, store, settings, CLI."""
