"""Who is acting, and what their role allows. Checked here, in the service layer, on every write.

The password backend is one small function pair (hash/verify) and ``authenticate``; an OIDC
front end (Streamlit ``st.login``) can replace ``authenticate`` and map its user to an ``Actor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ..errors import PermissionDenied
from ..i18n import N_

# what each role may do; a lead may do all an annotator may, an admin all a lead may
PERMISSIONS: dict[str, set[str]] = {
    "annotator": {"review", "edit", "flag", "search", "translate_one", "view_own_stats"},
    "lead": {
        "import",
        "export",
        "check",
        "translate_batch",
        "glossary",
        "view_stats",
        "adjudicate",
        "configure",
        "evalsets",
    },
    "admin": {"users", "backup", "db"},
}
_ORDER = ("annotator", "lead", "admin")


def allowed(role: str, action: str) -> bool:
    if role not in _ORDER:
        return False
    return any(action in PERMISSIONS[r] for r in _ORDER[: _ORDER.index(role) + 1])


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or the local CLI) on whose behalf a service runs."""

    id: int | None
    username: str
    role: str

    def can(self, action: str) -> bool:
        return allowed(self.role, action)

    def require(self, action: str) -> None:
        if not self.can(action):
            raise PermissionDenied(
                msgid=N_("{username} ({role}) may not {action}"),
                username=self.username,
                role=self.role,
                action=action.replace("_", " "),
            )


# The CLI runs with the rights of whoever can open the database file: an admin.
SYSTEM = Actor(None, "cli", "admin")

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return (
        f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_password() -> str:
    return secrets.token_urlsafe(12)
