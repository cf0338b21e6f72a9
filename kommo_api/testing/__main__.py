"""python -m kommo_api.testing --port 8899 --seed demo [--host 127.0.0.1] [--redirect-uri URL]
[--no-rate-limit] [--verbose]

Prints the url, the host, the demo integration's client_id / client_secret and a long-lived
token, then serves until Ctrl-C (or SIGTERM).
"""

import argparse
import logging
import signal
import sys
import threading

from .emulator import KommoEmulator
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m kommo_api.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8899, help="0 picks a free port")
    parser.add_argument("--seed", choices=("demo", "none"), default="demo")
    parser.add_argument("--redirect-uri", help="OAuth redirect URI of the demo integration")
    parser.add_argument("--no-rate-limit", action="store_true", help="disable the 7 req/s limit")
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
    )
    emu = KommoEmulator(
        seed=None if args.seed == "none" else args.seed,
        rate_limit=None if args.no_rate_limit else 7,
        host=args.host,
        port=args.port,
    )
    demo = args.seed == "demo"
    app = emu.register_app(
        redirect_uri=args.redirect_uri,
        client_id=DEMO_CLIENT_ID if demo else None,
        client_secret=DEMO_CLIENT_SECRET if demo else None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emu.start()
    try:
        lines = [
            f"Kommo API v4 emulator for account {emu.store.account['name']!r}",
            f"url={emu.url}",
            f"host={emu.host}",
            f"account_id={emu.account_id}",
            f"subdomain={emu.subdomain}",
            f"client_id={app.client_id}",
            f"client_secret={app.client_secret}",
            f"redirect_uri={app.redirect_uri or ''}",
            f"authorize_url={emu.authorize_url}?client_id={app.client_id}",
            f"long_lived_token={emu.issue_long_lived_token(days=365)}",
            "Press Ctrl-C to stop.",
        ]
        print("\n".join(lines), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    print("Kommo emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
