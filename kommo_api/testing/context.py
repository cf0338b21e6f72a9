"""What an API handler gets: the emulator, the request, parsed query and body helpers."""

import json
from functools import cached_property
from typing import Any

from werkzeug.wrappers import Request

from .answers import ApiError
from .listing import query_params, with_set

MAX_WRITE_ENTITIES = 50


class Ctx:
    def __init__(self, emu, request: Request):
        self.emu = emu
        self.request = request
        self.store = emu.store
        # Links point back at the emulator the way the client reached it.
        self.base = request.host_url.rstrip("/")

    @cached_property
    def params(self) -> dict:
        return query_params(self.request)

    @cached_property
    def with_(self) -> set[str]:
        return with_set(self.params)

    def body(self) -> Any:
        data = self.request.get_data(cache=True)
        if not data.strip():
            raise ApiError(400, "Request body is empty")
        try:
            return json.loads(data)
        except ValueError:
            raise ApiError(400, "Request body is not valid JSON") from None

    def object_body(self) -> dict:
        body = self.body()
        if not isinstance(body, dict):
            raise ApiError(400, "Expected a JSON object")
        return body

    def batch(self, limit: int = MAX_WRITE_ENTITIES) -> list:
        """A write body: a non-empty JSON array of at most ``limit`` (50) entities."""
        body = self.body()
        if not isinstance(body, list) or not body:
            raise ApiError(400, "Expected a non-empty JSON array of entities")
        if len(body) > limit:
            raise ApiError(400, f"Too many entities in one request: at most {limit} are allowed")
        return body

    def self_link(self) -> dict:
        return {"self": {"href": self.request.base_url}}
