"""Channel URLs are validated when they are saved, not when they first fail."""

from __future__ import annotations

from notifications.channels import ChannelError, validate_notify_url
from zorgtafel.errors import FieldProblem, ValidationFailed


def validated_urls(urls: list[str], loc: tuple[str | int, ...]) -> list[str]:
    """Normalised URLs, or ValidationFailed naming each bad one (nothing is saved then)."""
    normalised, problems = [], []
    for i, url in enumerate(urls):
        try:
            normalised.append(validate_notify_url(url))
        except ChannelError as exc:
            problems.append(FieldProblem((*loc, i), exc.code, exc.message))
    if problems:
        raise ValidationFailed(problems)
    return normalised
