"""Who may do what: any valid token reads; writes need a token that is not read-only."""

from rest_framework import permissions

from common.models import ApiToken


class TokenWritePermission(permissions.BasePermission):
    message = "This token is read-only; writes need a token created without --read-only."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if isinstance(request.auth, ApiToken):
            return not request.auth.read_only
        # Session (admin login) users write only when they are staff.
        return bool(request.user.is_staff)
