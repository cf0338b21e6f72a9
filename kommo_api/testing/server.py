"""The WSGI application (routing, the order of checks, the request log) and the threaded server.

Order for every request: injected fault -> (API paths) block -> rate limit -> bearer token ->
handler under the store lock. Every request is logged with the status it finally got (0 when
the connection was dropped without an answer).
"""

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import api_contacts, api_leads, api_links, api_misc, api_notes
from .answers import ApiError, html_page, plain_text, problem
from .context import Ctx
from .limits import BLOCKED, LIMITED

_logger = logging.getLogger("kommo_api.testing")
_SOCKET_KEY = "kommo_emulator.socket"
REQUEST_ID_HEADER = "X-Request-Id"
# Served by the shared API domain (the JWT's api_domain), so also by a renamed-away host here.
ACCOUNT_DOMAIN_PATH = "/oauth2/account/current/subdomain"


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict  # one value per key as a str; repeated keys as a list of str
    time: float  # time.monotonic() when the request arrived
    body: bytes = field(repr=False)
    json: Any = field(repr=False)
    status: int  # 0: the connection was closed without an answer
    headers: dict = field(repr=False)  # holds the bearer token: kept out of repr
    account: str
    fault: str | None = None
    request_id: str | None = None
    host: str | None = None  # the emulator host it reached ("127.0.0.1:PORT")


def _routes() -> Map:
    rules = []
    for module in (api_leads, api_links, api_contacts, api_notes, api_misc):
        for path, methods, handler in module.ROUTES:
            rules.append(Rule(path, methods=methods, endpoint=("api", handler)))
    rules.append(Rule("/oauth", methods=["GET"], endpoint=("oauth", "authorize")))
    rules.append(Rule("/oauth/decision", methods=["GET", "POST"], endpoint=("oauth", "decision")))
    rules.append(Rule("/oauth2/access_token", methods=["POST"], endpoint=("oauth", "token")))
    rules.append(Rule(ACCOUNT_DOMAIN_PATH, methods=["GET"], endpoint=("oauth", "subdomain")))
    return Map(rules, strict_slashes=False)


def blocked_page() -> Response:
    return html_page(403, "403 Forbidden", "Access to the account is temporarily blocked.")


def _gateway_page(status: int, title: str) -> Response:
    return html_page(status, f"{status} {title}", "nginx")


FAULT_ANSWERS = {
    "500": lambda: problem(500, "Internal Server Error"),
    "502": lambda: _gateway_page(502, "Bad Gateway"),
    "429": lambda: plain_text(429, "Too Many Requests"),
    "401": lambda: problem(401, "Access token expired"),
    "403_html": blocked_page,
    "402": lambda: problem(402, "Payment required: the account's plan does not allow this"),
}


def _query_dict(request: Request) -> dict:
    return {k: v[0] if len(v) == 1 else v for k, v in request.args.to_dict(flat=False).items()}


def _parsed_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class ConnectionDroppedError(ConnectionAbortedError):
    """Raised after closing the socket: the server then drops the exchange silently."""


class EmulatorApp:
    def __init__(self, emu):
        self.emu = emu
        self.url_map = _routes()
        self._log_lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        arrived = time.monotonic()
        body = request.get_data(cache=True)
        request_id = uuid.uuid4().hex
        fault = self.emu.faults.take(request.method, request.path)
        if fault == "drop":
            self._record(request, body, arrived, 0, fault, request_id)
            self._drop(environ)
        if fault == "timeout":
            time.sleep(self.emu.faults.timeout_delay)
            response = _gateway_page(504, "Gateway Time-out")
        elif fault in FAULT_ANSWERS:
            response = FAULT_ANSWERS[fault]()
        else:
            response = self._retired(request) or self._handle(request)
        if fault == "lost_response":
            self._record(request, body, arrived, 0, fault, request_id)
            self._drop(environ)
        response.headers[REQUEST_ID_HEADER] = request_id
        self._record(request, body, arrived, response.status_code, fault, request_id)
        return response(environ, start_response)

    def _retired(self, request: Request) -> Response | None:
        """A host the account was renamed away from (KommoEmulator.rename_subdomain)."""
        status = self.emu.retired_status(request.environ.get("SERVER_PORT"))
        if status is None or request.path == ACCOUNT_DOMAIN_PATH:
            return None
        return problem(status, "Account not found" if status == 404 else "Unauthorized")

    def _handle(self, request: Request) -> Response:
        try:
            adapter = self.url_map.bind_to_environ(request.environ)
            (kind, target), args = adapter.match()
            if kind == "oauth":
                return self._oauth(target, request)
            return self._api(target, args, request)
        except ApiError as error:
            return error.response()
        except HTTPException as error:  # no such route / method
            return problem(error.code or 400, error.name)
        except Exception:
            _logger.exception("emulator handler failed on %s %s", request.method, request.path)
            return problem(500, "Internal Server Error")

    def _api(self, handler, args: dict, request: Request) -> Response:
        verdict = self.emu.limiter.check(self.emu.subdomain)
        if verdict == BLOCKED:
            return blocked_page()
        if verdict == LIMITED:
            return plain_text(429, "Too Many Requests")
        self.emu.oauth.authenticate(request.headers.get("Authorization"))
        with self.emu.store.lock:
            return handler(Ctx(self.emu, request), **args)

    def _oauth(self, target: str, request: Request) -> Response:
        oauth = self.emu.oauth
        if target == "authorize":
            return oauth.authorize_page(request)
        if target == "decision":
            return oauth.decision(request, self.emu.host)
        if target == "subdomain":
            answer = oauth.account_domain(request.headers.get("X-Refresh-Token"), self.emu.host)
            return Response(json.dumps(answer), content_type="application/json")
        if request.is_json:
            params = request.get_json(silent=True)
            if not isinstance(params, dict):
                raise ApiError(400, "Request body is not a JSON object")
        else:
            params = request.form.to_dict()
        return Response(json.dumps(oauth.token_endpoint(params)), content_type="application/json")

    @staticmethod
    def _drop(environ) -> None:
        connection = environ.get(_SOCKET_KEY)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionDroppedError("connection dropped by injected fault")

    def _record(self, request, body, arrived, status, fault, request_id) -> None:  # noqa: PLR0917
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query=_query_dict(request),
            time=arrived,
            body=body,
            json=_parsed_json(body),
            status=status,
            headers=dict(request.headers),
            account=self.emu.subdomain,
            fault=fault,
            request_id=request_id,
            host=f"{request.environ.get('SERVER_NAME')}:{request.environ.get('SERVER_PORT')}",
        )
        with self._log_lock:
            self.emu.log.append(entry)


class _Handler(WSGIRequestHandler):
    """Gives the app the client socket (to drop connections) and keeps request lines quiet."""

    def make_environ(self):
        environ = super().make_environ()
        environ[_SOCKET_KEY] = self.connection
        return environ

    def log_request(self, code="-", size="-") -> None:
        path = getattr(self, "path", "").split("?", 1)[0]
        _logger.info("%s %s %s", getattr(self, "command", "-"), path, code)

    def log(self, type: str, message: str, *args) -> None:
        _logger.debug(message, *args)


class ServerThread:
    def __init__(self, app, host: str, port: int):
        self.server = make_server(host, port, app, threaded=True, request_handler=_Handler)
        self.port = self.server.server_address[1]
        # A short poll interval makes stop() quick (tests start and stop many emulators).
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="kommo-emulator"
        )
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)
        self.server.server_close()
