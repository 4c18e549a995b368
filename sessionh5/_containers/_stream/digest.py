"""A digest for uncompressed streams, which otherwise carry no checksum at all.

lz4 frames (written with a content checksum) and gzip (CRC-32) detect damage;
a plain stream does not, so a flipped byte would restore a different session.
For those, the writer adds the metadata key ``sessionh5-digest`` as the *last*
entry of the metadata map: a BLAKE2b-128 hex digest of every byte after the
header line except that entry itself (the rest of the metadata, the provider
table, the records and the end marker). Readers that do not know the key see one
more metadata string; sessionh5 checks it when it reads the whole stream.
"""

from __future__ import annotations

import hashlib

import msgpack  # type: ignore[import-untyped]

__all__ = ["DIGEST_KEY", "DIGEST_TAIL", "BodyDigest", "new_digest"]

DIGEST_KEY = "sessionh5-digest"
_HEX_LENGTH = 32
#: Bytes of the packed final entry (key, 32-character hex string), which the digest skips.
DIGEST_TAIL = len(msgpack.packb(DIGEST_KEY)) + len(msgpack.packb("0" * _HEX_LENGTH))


def new_digest(data: bytes = b"") -> hashlib._Hash:
    return hashlib.blake2b(data, digest_size=_HEX_LENGTH // 2)


class BodyDigest:
    """Hashes the decompressed bytes a reader feeds, skipping one byte range.

    Bytes are held until the metadata record is decoded (only then is the range of
    its digest entry known), after which they are hashed as they come.
    """

    def __init__(self) -> None:
        self._held: list[bytes] | None = []
        self._hash = new_digest()
        self._active = True

    def feed(self, chunk: bytes) -> None:
        if not self._active:
            return
        if self._held is not None:
            self._held.append(chunk)
        else:
            self._hash.update(chunk)

    def skip(self, start: int, end: int) -> None:
        """Start hashing, leaving out bytes ``start:end`` of what was fed so far."""
        held = b"".join(self._held or ())
        self._hash.update(held[:start])
        self._hash.update(held[end:])
        self._held = None

    def stop(self) -> None:
        """No digest in this stream: drop what was held and hash nothing more."""
        self._held = None
        self._active = False

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
