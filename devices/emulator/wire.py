"""The ADB wire format, device side: 24-byte message headers, payloads, and AUTH's RSA check.

A message is six little-endian uint32 words (command, arg0, arg1, payload
length, payload checksum, command ^ 0xffffffff) then the payload. Protocol
version 0x01000001 lets both sides skip the checksum; we always send it (old
clients such as adb-shell check it) and check incoming ones only when the
negotiated version is the old one.

AUTH: the device sends a 20-byte random token; the host signs it with its
private key as if it were a SHA-1 digest (PKCS#1 v1.5 over a SHA-1 DigestInfo)
and may then offer its public key in Android's RSAPublicKey struct, base64
encoded, followed by " user@host".
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

HEADER = struct.Struct("<6I")
VERSION = 0x01000000
VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 256 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
TOKEN_SIZE = 20

_ANDROID_KEY = struct.Struct("<II256s256sI")  # modulus_size_words, n0inv, modulus (LE), rr (LE), exponent


def _word(name: bytes) -> int:
    return struct.unpack("<I", name)[0]


COMMANDS = {name: _word(name) for name in (b"SYNC", b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"CLSE", b"WRTE", b"STLS")}
NAMES = {v: k for k, v in COMMANDS.items()}


class ProtocolError(Exception):
    """The peer sent something that is not ADB."""


@dataclass(frozen=True)
class Message:
    """One ADB message."""

    command: bytes
    arg0: int
    arg1: int
    data: bytes = b""

    def pack(self) -> bytes:
        """Header and payload as they go on the wire (checksum always filled in)."""
        word = COMMANDS[self.command]
        return HEADER.pack(word, self.arg0, self.arg1, len(self.data), sum(self.data) & 0xFFFFFFFF,
                           word ^ 0xFFFFFFFF) + self.data


def parse_header(raw: bytes) -> tuple[bytes, int, int, int, int]:
    """(command, arg0, arg1, length, checksum) of a 24-byte header; ProtocolError when it is not ADB."""
    word, arg0, arg1, length, check, magic = HEADER.unpack(raw)
    if word not in NAMES or magic != word ^ 0xFFFFFFFF:
        raise ProtocolError(f"not an ADB message header: {raw.hex()}")
    if length > 16 * 1024 * 1024:
        raise ProtocolError(f"payload of {length} bytes is too large")
    return NAMES[word], arg0, arg1, length, check


def checksum_ok(data: bytes, check: int, version: int) -> bool:
    """Whether ``data`` matches ``check`` (always true once the checksum is negotiated away)."""
    return version >= VERSION_SKIP_CHECKSUM or (sum(data) & 0xFFFFFFFF) == check


def decode_public_key(text: bytes | str) -> rsa.RSAPublicKey:
    """A public key from Android's adbkey.pub form (base64 RSAPublicKey struct, optional ' user@host')."""
    if isinstance(text, str):
        text = text.encode()
    b64 = text.strip(b"\0").strip().split(b" ", 1)[0]
    try:
        raw = base64.b64decode(b64, validate=True)
        words, _n0inv, modulus, _rr, exponent = _ANDROID_KEY.unpack(raw)
    except (binascii.Error, struct.error, ValueError) as e:
        raise ValueError(f"not an Android RSA public key: {e}") from None
    if words != 64:
        raise ValueError(f"not an Android RSA public key: modulus of {words} words, expected 64")
    n = int.from_bytes(modulus, "little")
    return rsa.RSAPublicNumbers(exponent, n).public_key()


def key_id(key: rsa.RSAPublicKey) -> tuple[int, int]:
    """What identifies a public key: (n, e)."""
    numbers = key.public_numbers()
    return numbers.n, numbers.e


def signature_ok(key: rsa.RSAPublicKey, token: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``token`` signed by ``key``'s private half the way adbd checks it."""
    try:
        key.verify(signature, token, padding.PKCS1v15(), utils.Prehashed(hashes.SHA1()))
        return True
    except (InvalidSignature, ValueError):
        return False
