"""Download GitHub's example webhook payloads (@octokit/webhooks-examples) into .cache/webhooks-examples/.

Python only (no npm): the exact tarball of the pinned version, checked against the registry's sha512
integrity, unpacked so that `.cache/webhooks-examples/api.github.com/index.json` (and the GHES ones) exist.
Nothing is done when that version is already there. Run from anywhere: `python tests/sources/fetch_webhook_examples.py`.
"""

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VERSION = "7.6.1"
URL = f"https://registry.npmjs.org/@octokit/webhooks-examples/-/webhooks-examples-{VERSION}.tgz"
INTEGRITY = "sha512-De6U3XB6O3DtCa7bKgCMzTHdeopqqZ6SNivMYJnK65ierKL1AnNIA0tkRYCRS7lwGT792d+Ps1WbfHlso6MynQ=="
TARGET = Path(__file__).resolve().parents[2] / ".cache" / "webhooks-examples"
STAMP = TARGET / ".version"


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def main() -> int:
    if STAMP.exists() and STAMP.read_text().strip() == VERSION:
        print(f"webhook examples {VERSION} already in {TARGET}")
        return 0
    with urllib.request.urlopen(URL, timeout=60) as response:
        data = response.read()
    if integrity(data) != INTEGRITY:
        print(f"refused: {URL} does not match its integrity {INTEGRITY}", file=sys.stderr)
        return 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=TARGET.parent) as scratch:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(scratch, filter="data")
        unpacked = Path(scratch) / "package"
        (unpacked / ".version").write_text(VERSION + "\n")
        if TARGET.exists():
            shutil.rmtree(TARGET)
        unpacked.rename(TARGET)
    print(f"webhook examples {VERSION} unpacked into {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
