"""The host's ADB key pair: ~/.android/adbkey (PEM private key) and adbkey.pub (Android's format).

The same files Android's own adb uses, so a phone that trusts this computer
for adb trusts lutnas too. Created when missing.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_key_path() -> Path:
    """adb's own place, ~/.android/adbkey ($HOME decides, as it does for adb)."""
    return Path(os.environ.get("HOME") or Path.home()) / ".android" / "adbkey"


def ensure_key(path: Path | None = None) -> Path:
    """The private key file, created with its .pub in Android's RSAPublicKey format when missing."""
    from adb_shell.auth.keygen import keygen, write_public_keyfile

    path = Path(path) if path else default_key_path()
    pub = Path(f"{path}.pub")
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        keygen(str(path))
        path.chmod(0o600)
    elif not pub.exists():
        write_public_keyfile(str(path), str(pub))
    return path


def load_signer(path: Path):
    """An adb-shell signer for the key at ``path``; ValueError naming the file when it is not a key."""
    from adb_shell.auth.sign_cryptography import CryptographySigner

    try:
        return CryptographySigner(str(path))
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: not a usable ADB private key ({e}); move it away and a new one is made") from None
