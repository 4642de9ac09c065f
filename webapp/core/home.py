"""The home page's "For you today": what needs the signed-in person now, from every domain.

Like the banners: a domain registers a provider, a function of the signed-in user returning
HomeItems (already filtered by policy, in the reader's language); the home page lists every
provider's items in the order they registered, and says so when there is nothing.

    from ..core.home import HomeItem, home_provider

    @home_provider
    def _my_items(user) -> list[HomeItem]: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomeItem:
    text: str
    url: str
    kind: str = "info"  # "alert": waits for the person's answer; becomes home-item--<kind>


Provider = Callable[[object], list[HomeItem]]
PROVIDERS: list[Provider] = []


def home_provider(provider: Provider) -> Provider:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


def collect(user) -> list[HomeItem]:
    found: list[HomeItem] = []
    for provider in PROVIDERS:
        found.extend(provider(user) or [])
    return found
