"""Odoo-free client of Kommo's (amoCRM's) REST API v4."""

from .client import Exchange, KommoClient, default_throttle
from .errors import (
    KommoAuthError,
    KommoBlocked,
    KommoConnectionError,
    KommoError,
    KommoForbidden,
    KommoNotFound,
    KommoPaymentRequired,
    KommoRateLimited,
    KommoServerError,
    KommoTimeout,
    KommoTokenExpired,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    KommoValidationError,
    ValidationIssue,
)
from .hosts import base_url, is_loopback, normalize_host
from .oauth import LongLivedTokenStore, MemoryTokenStore, OAuthApp, Tokens, TokenStore
from .throttle import NoThrottle, SlidingWindowThrottle, Throttle

# TODO(lead): re-export kommo_api.webhooks and kommo_api.phones once they land.

__all__ = [
    "Exchange",
    "KommoAuthError",
    "KommoBlocked",
    "KommoClient",
    "KommoConnectionError",
    "KommoError",
    "KommoForbidden",
    "KommoNotFound",
    "KommoPaymentRequired",
    "KommoRateLimited",
    "KommoServerError",
    "KommoTimeout",
    "KommoTokenExpired",
    "KommoTokenRevoked",
    "KommoUnexpectedResponse",
    "KommoValidationError",
    "LongLivedTokenStore",
    "MemoryTokenStore",
    "NoThrottle",
    "OAuthApp",
    "SlidingWindowThrottle",
    "Throttle",
    "TokenStore",
    "Tokens",
    "ValidationIssue",
    "base_url",
    "default_throttle",
    "is_loopback",
    "normalize_host",
]
