"""Moments in the three forms the connector meets: Odoo's (a naive datetime in UTC),
kommo_api's (a tz-aware datetime) and Kommo's (unix seconds)."""

from datetime import datetime, timezone


def aware_utc(value):
    """An Odoo datetime as the tz-aware datetime kommo_api works with; None for none."""
    return value.replace(tzinfo=timezone.utc) if value else None


def naive_utc(moment):
    """A tz-aware datetime (kommo_api's) as Odoo stores datetimes, naive in UTC; a naive one
    is taken as Odoo's already; None for none."""
    if moment and moment.tzinfo:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment or None


def unix_time(value):
    """An Odoo datetime as Kommo's unix seconds."""
    return int(value.replace(tzinfo=timezone.utc).timestamp())


def from_unix_time(seconds):
    """Kommo's unix seconds as an Odoo datetime; None for none."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None) if seconds else None
