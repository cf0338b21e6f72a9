"""Which hosts may be spoken to as a Kommo account, and how.

The OAuth callback receives the account host in ``referer``, a value anyone can forge: only
Kommo's own domains (and loopback, for the emulator) are accepted, so a forged referer cannot
make us send the client secret or a code to another server.

Platforms: ``*.kommo.com`` and ``*.amocrm.com`` are Kommo (amocrm.com accounts answer with a
redirect to kommo.com, followed by the transport only within Kommo's domains, see
:func:`redirect_allowed`); ``*.amocrm.ru`` is amoCRM's separate platform with the same API v4,
supported with its own consent page (:func:`platform_authorize_url`): its integrations are
created there and cannot be authorised on www.kommo.com.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .errors import KommoUnexpectedResponse, excerpt

KOMMO_DOMAINS = ("kommo.com", "amocrm.com", "amocrm.ru")
# Kommo's own platform: where a redirect from an account host may lead.
KOMMO_PLATFORM_DOMAINS = ("kommo.com", "amocrm.com")
KOMMO_AUTHORIZE_URL = "https://www.kommo.com/oauth"
AMOCRM_RU_AUTHORIZE_URL = "https://www.amocrm.ru/oauth"
LOOPBACK_NAMES = ("localhost",)

# One DNS label: the account subdomain (Kommo's are letters, digits and dashes).
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_PORT = re.compile(r"^[0-9]{1,5}$")


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        name, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("malformed IPv6 host")
        return name, rest[1:] if rest else None
    if hostport.count(":") == 1:
        name, port = hostport.split(":")
        return name, port
    return hostport, None


def _strip(host: str) -> str:
    if not isinstance(host, str):
        raise ValueError("host must be a string")
    value = host.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    for separator in "/?#":
        value = value.split(separator, 1)[0]
    if "@" in value:
        raise ValueError("host must not carry credentials")
    return value


def _is_loopback_name(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_kommo_name(name: str, domains=KOMMO_DOMAINS) -> bool:
    for domain in domains:
        suffix = "." + domain
        if name.endswith(suffix):
            subdomain = name[: -len(suffix)]
            return bool(_LABEL.match(subdomain)) and subdomain != "www"
    return False


def normalize_host(host: str) -> str:
    """The canonical ``host[:port]`` of a Kommo account, or ``ValueError`` if it is not one.

    Accepts ``<sub>.kommo.com``, ``<sub>.amocrm.com``, ``<sub>.amocrm.ru`` (without a port) and
    loopback hosts with an optional port (``127.0.0.1:8899``, ``localhost``, ``[::1]:8899``).
    """
    value = _strip(host)
    name, port = _split_port(value)
    name = name.rstrip(".")
    if port is not None and not (_PORT.match(port) and 0 < int(port) < 65536):
        raise ValueError(f"invalid port in host {host!r}")
    if _is_loopback_name(name):
        if ":" in name:
            name = f"[{name}]"
        return f"{name}:{port}" if port else name
    if port is None and _is_kommo_name(name):
        return name
    raise ValueError(f"not a Kommo account host: {host!r}")


def is_loopback(host: str) -> bool:
    name, _port = _split_port(_strip(host))
    return _is_loopback_name(name.rstrip("."))


def base_url(host: str) -> str:
    """``https://<host>`` for Kommo accounts, ``http://<host>`` for the loopback emulator."""
    canonical = normalize_host(host)
    scheme = "http" if is_loopback(canonical) else "https"
    return f"{scheme}://{canonical}"


def platform_authorize_url(host: str) -> str:
    """The consent page of the account's platform: www.amocrm.ru for ``*.amocrm.ru``,
    www.kommo.com for Kommo (and amoCRM.com) accounts, the emulator's own for loopback."""
    canonical = normalize_host(host)
    if is_loopback(canonical):
        return base_url(canonical) + "/oauth"
    if canonical.endswith(".amocrm.ru"):
        return AMOCRM_RU_AUTHORIZE_URL
    return KOMMO_AUTHORIZE_URL


def redirect_allowed(source_url: str, target_url: str) -> bool:
    """Whether a redirect from ``source_url`` may be followed to ``target_url`` carrying the same
    request (bearer token, client secret): over https to a Kommo account host on Kommo's own
    domains, or back to the same loopback emulator. Never to another host or a lower scheme."""
    source, target = urlsplit(source_url), urlsplit(target_url)
    if target.username or target.password or not target.hostname:
        return False
    if is_loopback(source.netloc):
        return target.scheme == source.scheme and target.netloc == source.netloc
    if target.scheme != "https" or target.port is not None:
        return False
    name = target.hostname.rstrip(".").lower()
    return name == (source.hostname or "").lower() or _is_kommo_name(name, KOMMO_PLATFORM_DOMAINS)


def host_of_account_domain(payload) -> str:
    """The account host in Kommo's account-domain answer ``{id, subdomain, domain,
    top_level_domain}`` (AccountDomainModel). ``domain`` is read as the full host
    ("acme.kommo.com", what the library sets as its base domain) or, UNCONFIRMED, as the base
    domain to put the subdomain in front of; either way only a Kommo (or loopback) host."""
    if isinstance(payload, dict):
        domain, subdomain = payload.get("domain"), payload.get("subdomain")
        candidates = [domain]
        if isinstance(subdomain, str) and isinstance(domain, str):
            candidates.append(f"{subdomain}.{domain}")
        for candidate in candidates:
            try:
                return normalize_host(candidate)
            except ValueError:
                continue
    raise KommoUnexpectedResponse(
        f"Kommo's account address answer names no Kommo account host: {excerpt(str(payload))}"
    )
