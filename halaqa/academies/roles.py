"""The roles a member can hold in an academy (pure)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    TEACHER = "teacher"
    STUDENT = "student"
    PARENT = "parent"


STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})
