# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""URLs as messages may show them (the HTTP API clients of the collection share it)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def without_userinfo(url):
    """``url`` as messages may show it: any ``user:password@`` removed."""
    parts = urlsplit(url or "")
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
