"""Kommo's disconnect hook: an administrator removed the integration from an account.

Kommo then calls the integration's "access revoked notification web hook" with
``GET ?account_id=&client_uuid=&signature=`` (Kommo's OAuth 2.0 page, "Hook to disable
integration"). The URL is public, so the signature is all that tells Kommo from a forger.
"""

from __future__ import annotations

import hashlib
import hmac


def disconnect_signature(client_id: str, client_secret: str, account_id) -> str:
    """The ``signature`` of Kommo's disconnect hook: hex HMAC-SHA256 of ``client_id|account_id``
    keyed with the integration's secret key (Kommo's OAuth 2.0 page, "Hook to disable
    integration")."""
    message = f"{client_id}|{str(account_id).strip()}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_disconnect_signature(client_id, client_secret, account_id, signature) -> bool:
    """Whether a disconnect hook's ``signature`` is Kommo's for this integration and account
    (constant time: the hook is a public URL anyone can call)."""
    if not (client_id and client_secret and account_id) or not isinstance(signature, str):
        return False
    expected = disconnect_signature(client_id, client_secret, account_id).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8"))
