"""Citizen profiles per phone number, kept only with the citizen's consent."""

from assistant.profiles.base import Erasable, ProfileStore
from assistant.profiles.records import (
    ACCESSIBILITY_KEYS,
    CitizenProfile,
    ProfileError,
    check_accessibility,
    check_phone,
)
from assistant.profiles.sql import SqlProfileStore

__all__ = [
    "ACCESSIBILITY_KEYS",
    "CitizenProfile",
    "Erasable",
    "ProfileError",
    "ProfileStore",
    "SqlProfileStore",
    "check_accessibility",
    "check_phone",
]
