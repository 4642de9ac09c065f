"""Light and dark themes: every text/background pair of the palette reaches 4.5:1 (WCAG AA)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()

# (text, background) pairs the stylesheet actually uses.
PAIRS = [
    ("fg", "bg"), ("muted", "bg"), ("accent", "bg"), ("accent-fg", "accent"),
    ("fg", "surface"), ("muted", "surface"), ("accent", "surface"),
    ("danger", "bg"), ("danger-fg", "danger"), ("ok", "bg"),
    ("warn-fg", "warn-bg"), ("alert-fg", "alert-bg"), ("focus", "bg"),
]


def _block(selector: str) -> dict[str, str]:
    match = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS)
    assert match, f"no block for {selector}"
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", match.group(1)))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


LIGHT = _block(":root")
DARK = _block(':root[data-theme="dark"]')
DARK_BY_PREFERENCE = _block(':root:not([data-theme="light"])')


def test_dark_preference_and_dark_choice_are_the_same_palette():
    assert DARK == DARK_BY_PREFERENCE


def test_contrast_helper_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("text,background", PAIRS)
def test_palette_contrast_is_at_least_4_5(theme, text, background):
    palette = {**LIGHT, **DARK} if theme == "dark" else LIGHT
    ratio = contrast(palette[text], palette[background])
    assert ratio >= 4.5, f"{theme}: --{text} on --{background} is {ratio:.2f}:1"


def test_no_hard_coded_text_colour_on_themed_backgrounds():
    # A literal colour next to a themed background breaks in one of the two themes.
    assert not re.search(r"color:\s*#(?:fff|ffffff)\b", CSS, flags=re.I)
