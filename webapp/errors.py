"""Errors a service raises to refuse a user action with a clear, translated message.

Routes and socket handlers need not catch them: core turns them into a 4xx page, fragment or
JSON body, and the session is rolled back so nothing is half-written.
"""

from __future__ import annotations


class UserError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(UserError):
    status = 403


class NotFound(UserError):
    status = 404


class Conflict(UserError):
    status = 409


class Gone(UserError):
    status = 410
