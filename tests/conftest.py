"""Shared pytest fixtures for the Odoo-free tests of kommo_api."""

import json as _json

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class ScriptedAdapter(BaseAdapter):
    """A requests transport that plays back scripted answers and records what was sent."""

    def __init__(self):
        super().__init__()
        self.script = []
        self.sent = []

    def answer(self, status=200, body=None, headers=None):
        if isinstance(body, dict | list):
            body = _json.dumps(body)
            headers = {"Content-Type": "application/hal+json", **(headers or {})}
        self.script.append((status, body, headers or {}))
        return self

    def fail(self, exception):
        self.script.append(exception)
        return self

    def send(self, request, **kwargs):
        self.sent.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body, headers = step
        response = requests.Response()
        response.status_code = status
        response._content = body.encode() if isinstance(body, str) else (body or b"")
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


@pytest.fixture
def scripted():
    """A ScriptedAdapter mounted on its own requests.Session (``scripted.session``)."""
    adapter = ScriptedAdapter()
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    adapter.session = session
    return adapter
