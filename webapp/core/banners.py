"""Banners across the top of every page ("Acting for Jeanne", "Dr X opened your summary").

Any domain adds its own without knowing the others: it registers a provider, a function of the
signed-in user that returns a list of banners: (kind, text) pairs, or `Banner`s when the banner
offers something to do (a link, a "Not now" that posts and works without JavaScript too);
core's context processor gives the template `banners`, every provider's in the order they
registered. `kind` becomes the CSS class `banner--<kind>`.

    from ..core.banners import banner_provider

    @banner_provider
    def _my_banners(user) -> list[tuple[str, str]]: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Banner(NamedTuple):
    kind: str
    text: str
    link: tuple[str, str] | None = None  # (url, label): where to go to act on it
    # (url, label, accessible label): a POST that hides it; the page's path goes as `next`
    dismiss: tuple[str, str, str] | None = None


Provider = Callable[[object], list[Banner | tuple[str, str]]]

PROVIDERS: list[Provider] = []


def banner_provider(provider: Provider) -> Provider:
    """Register a provider (once: importing a module twice does not double its banners)."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


def collect(user) -> list[Banner]:
    """Every registered provider's banners for this user (none when nobody is signed in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    found: list[Banner] = []
    for provider in PROVIDERS:
        found.extend(b if isinstance(b, Banner) else Banner(*b) for b in provider(user) or [])
    return found
