"""Pure policies: ``check_*`` functions that raise with the reason when something is not
allowed, and return nothing when it is."""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence

from healthhub.exceptions import UserError


def current_user() -> str:
    """The operating-system user running this process (its effective uid: environment
    variables such as LOGNAME cannot change it)."""
    return pwd.getpwuid(os.geteuid()).pw_name


class NotAllowed(UserError):
    """The user may not do this; the message says who may."""


def check_steward(user: str, stewards: Sequence[str], action: str) -> None:
    """Only the hub's data stewards (``[identity] stewards``) may touch source links."""
    if user not in stewards:
        who = ", ".join(stewards) if stewards else "nobody yet"
        raise NotAllowed(
            f"only the hub's stewards may {action} ([identity] stewards in healthhub.toml:"
            f" {who}); you are '{user}'"
        )
