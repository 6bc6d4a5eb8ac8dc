"""A client process for the concurrency test: POSTs the requests of a JSON file, in order, over HTTP.

Usage: python tests/integration/poster.py BASE_URL TOKEN FILE, FILE holding [[path, body], ...].
Exits non-zero at the first answer that is not 200/201. Standard library only: it stands for any
script or CI job posting to the service.
"""

import json
import sys
import urllib.error
import urllib.request


def main(base: str, token: str, path: str) -> int:
    with open(path) as file:
        requests = json.load(file)
    for url, body in requests:
        request = urllib.request.Request(
            base + url,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            print(f"POST {url}: {error.code} {error.read()[:2000]!r}", file=sys.stderr)
            return 1
        if status not in (200, 201):
            print(f"POST {url}: {status}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
