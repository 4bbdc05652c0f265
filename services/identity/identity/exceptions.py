"""Identity raises the platform's boundary errors, which cross RPC as themselves. A wrong
password or an unusable refresh token is not an error: sign-in and refresh answer None, so
nothing says which part was wrong."""

from cvms_platform.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "Unprocessable"]
