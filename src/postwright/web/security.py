"""The web app's response headers and the one redirect target it takes from the user.

Pages and their assets only ever come from postwright itself: no inline script or style, no
third-party origin, no framing. FullCalendar is vendored under /static/vendor and ships plain
CSS files, so the policy needs no `unsafe-inline`; scripts that colour elements do it through
the CSSOM (`element.style`), which a policy does not restrict.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["page_headers", "safe_next", "static_headers"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # media previews are blob: URLs before upload, then /api/v1/media/{id}/content
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def page_headers(*, https: bool) -> Mapping[str, str]:
    """Headers for every HTML page (and its redirects)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        # a page shows who is logged in and their posts: never from a shared cache
        "Cache-Control": "no-store",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def static_headers() -> Mapping[str, str]:
    """Headers for scripts, styles and images: revalidate each time (cheap 304s), so an
    upgrade never leaves a browser running old scripts against a new API."""
    return {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to go to after logging in; anything else becomes `default`.

    Refuses absolute URLs, scheme-relative ones (`//evil.example`), backslashes (browsers
    read `/\\evil.example` as `//evil.example`), control characters and the login page itself.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    if value == "/login" or value.startswith(("/login?", "/login#", "/logout")):
        return default
    if len(value) > 2000:
        return default
    return value
