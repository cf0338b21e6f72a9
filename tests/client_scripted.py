"""A KommoClient over a scripted transport (``scripted`` in conftest): the fixtures and helpers
the client's unit tests share (the fixtures ``client``, ``store``, ``sleeps``, ``exchanges`` are
in conftest)."""

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

from kommo_api.oauth import Tokens

LATER = datetime.now(timezone.utc) + timedelta(days=1)


class FakeStore:
    def __init__(self, tokens):
        self.tokens = tokens
        self.refreshes = 0

    def get_tokens(self):
        return self.tokens

    def refresh_tokens(self, stale):
        self.refreshes += 1
        self.tokens = Tokens(f"access-{self.refreshes + 1}", "r", LATER)
        return self.tokens


class RecordingThrottle:
    def __init__(self):
        self.keys = []

    def acquire(self, key):
        self.keys.append(key)


def query_of(prepared):
    return parse_qsl(urlsplit(prepared.url).query)


def leads_page(ids, next_page=True):
    links = {"self": {"href": "x"}, **({"next": {"href": "y"}} if next_page else {})}
    return {"_page": 1, "_links": links, "_embedded": {"leads": [{"id": i} for i in ids]}}
