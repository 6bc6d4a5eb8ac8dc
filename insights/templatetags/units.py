"""Readable magnitudes for the pages: 12.3 Mbit/s, 4.56 GB, 1.2 k requests/s (decimal prefixes, as CDN bills)."""

from django import template

register = template.Library()

PREFIXES = ("", "k", "M", "G", "T", "P", "E")


def si(value, unit: str) -> str:
    """Three significant digits with a decimal prefix; `value` may be any number or None."""
    if value is None:
        return "–"
    number = float(value)
    index = 0
    while abs(number) >= 1000 and index < len(PREFIXES) - 1:
        number /= 1000
        index += 1
    digits = f"{number:.3g}"
    if "e" in digits:  # 999.7 -> "1e+03"; tiny rates -> "1e-05"
        digits = f"{number:.0f}"
    return f"{digits} {PREFIXES[index]}{unit}".strip()


@register.filter
def bits_per_second(value) -> str:
    return si(value, "bit/s")


@register.filter
def bytes_si(value) -> str:
    return si(value, "B")


@register.filter
def per_second(value) -> str:
    return si(value, "/s")
