"""The sizes a msgpack value declares, checked before msgpack buffers the bytes.

msgpack waits until a whole string, binary or extension value is in its buffer,
so a few bytes declaring a 2 GiB string (and an lz4 stream repeating one
compressible block) would make it take 2 GiB. :class:`DeclaredSizes` follows the
structure of one value across the chunks it arrives in, header by header, and
refuses the value as soon as a length or item count it declares cannot fit in
``limit`` bytes, whatever the bytes that follow. Payloads are skipped, not read, so
values made of large arrays cost nothing to follow; the reader starts it only
for values that outgrow a few MiB (see reader.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DeclaredSizes", "SizeGuard", "TooLarge"]


class TooLarge(Exception):
    """A value needs more bytes than it may take: at least ``needed``, because of ``what``."""

    def __init__(self, needed: int, what: str) -> None:
        super().__init__(f"{what} makes it at least {needed} bytes long")
        self.needed = needed
        self.what = what


# Per first byte: (header bytes, bytes of a length field after the type byte, what the
# length counts: "p" payload bytes, "a" array items, "m" map pairs; or a fixed payload).
_FIXED_PAYLOAD = {0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2,
                  0xD2: 4, 0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}
_LENGTHS = {0xC4: (2, 1, "p"), 0xC5: (3, 2, "p"), 0xC6: (5, 4, "p"),  # bin
            0xC7: (3, 1, "p"), 0xC8: (4, 2, "p"), 0xC9: (6, 4, "p"),  # ext: length, type
            0xD9: (2, 1, "p"), 0xDA: (3, 2, "p"), 0xDB: (5, 4, "p"),  # str
            0xDC: (3, 2, "a"), 0xDD: (5, 4, "a"), 0xDE: (3, 2, "m"), 0xDF: (5, 4, "m")}


#: The one-byte items: small ints, nil, false, true.
_ONE_BYTE = np.zeros(256, bool)
_ONE_BYTE[[*range(0x80), 0xC0, 0xC2, 0xC3, *range(0xE0, 0x100)]] = True


def _runs() -> dict[int, tuple[int, int]]:
    """Per first byte of a fixed-size item: its size and its kind (-1: any one-byte item,
    else the byte itself): lists of numbers are most of a large value's items."""
    runs = {int(byte): (1, -1) for byte in np.flatnonzero(_ONE_BYTE)}
    runs.update({byte: (1 + payload, byte) for byte, payload in _FIXED_PAYLOAD.items()})
    return runs


def _run_length(data: bytes | memoryview, at: int, step: int, kind: int, most: int) -> int:
    """How many items of the same kind (see _runs) follow each other from ``at``, up to
    ``most``, whole within ``data``: numpy looks at every ``step``-th byte."""
    heads = np.frombuffer(data, np.uint8)[at:at + step * most:step]
    same = _ONE_BYTE[heads] if kind < 0 else heads == kind
    count = int(same.argmin()) if not same.all() else len(heads)
    return count if at + count * step <= len(data) else count - 1


_WHAT = {"p": "a string, binary or extension value", "a": "an array's item count",
         "m": "a map's item count"}
_RUNS = _runs()


class DeclaredSizes:
    """Follows one msgpack value chunk by chunk; ``done`` once it has ended.

    ``at`` counts the value's bytes seen so far. Raises TooLarge when the value
    would need more than ``limit`` bytes: an item count counts one byte per item
    (none is smaller), two per map pair.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.at = 0
        self.done = False
        self._open = [1]  # items still to come at each open array or map level
        self._skip = 0  # payload bytes still to skip
        self._carry = b""  # a header cut by the end of the last chunk

    def feed(self, data: bytes | memoryview) -> None:
        """Follow the next bytes of the value; bytes after its end are ignored."""
        if self.done:
            return
        if self._carry:
            data = self._carry + bytes(data)
            self._carry = b""
        size = len(data)
        i = min(self._skip, size)
        self._skip -= i
        open_ = self._open
        while i < size and open_:
            byte = data[i]
            run = _RUNS.get(byte)
            if run is not None:  # numbers, nil, bools: fixed sizes, nothing declared
                step, kind = run
                after = i + step
                if after < size and _RUNS.get(data[after]) is run:  # a run: at C speed
                    items = _run_length(data, i, step, kind, open_[-1])
                else:
                    items = 1 if after <= size else 0  # 0: cut by the chunk's end
                if items:
                    open_[-1] -= items
                    i += items * step
                    while open_ and open_[-1] == 0:
                        open_.pop()
                    continue
            head, payload, count, kind = 1, 0, 0, ""
            if byte <= 0x7F or byte >= 0xE0 or byte in (0xC0, 0xC2, 0xC3):
                pass
            elif byte <= 0x8F:
                count = 2 * (byte & 0x0F)
            elif byte <= 0x9F:
                count = byte & 0x0F
            elif byte <= 0xBF:
                payload = byte & 0x1F
            elif byte in _FIXED_PAYLOAD:
                payload = _FIXED_PAYLOAD[byte]
            elif byte in _LENGTHS:
                head, width, kind = _LENGTHS[byte]
                if i + head > size:  # the header goes on in the next chunk
                    self._carry = bytes(data[i:])
                    break
                length = int.from_bytes(data[i + 1:i + 1 + width], "big")
                payload, count = (length, 0) if kind == "p" else \
                    (0, length * (2 if kind == "m" else 1))
            else:  # 0xC1 is never used: msgpack itself reports the damage
                self.done = True
                return
            if kind and self.at + i + head + payload + count > self.limit:
                raise TooLarge(self.at + i + head + payload + count, _WHAT[kind])
            open_[-1] -= 1
            if count:
                open_.append(count)
            i += head + payload
            while open_ and open_[-1] == 0:
                open_.pop()
        if i > size:  # a payload goes on in the next chunks
            self._skip = i - size
            i = size
        self.at += i
        self.done = not open_ and not self._skip


class SizeGuard:
    """What the reader checks before msgpack takes each decompressed chunk.

    The stream's total may not exceed ``total_limit``, nor any one top-level value
    ``value_limit``. Once the value being assembled outgrows WATCH bytes, its
    declared sizes are followed (DeclaredSizes) from its first byte, so a value that
    announces more than it may take is refused at once, not after its bytes arrive.
    """

    WATCH = 16 << 20

    def __init__(self, value_limit: int, total_limit: int) -> None:
        self.value_limit = value_limit
        self.total_limit = total_limit
        self._sizes: DeclaredSizes | None = None
        self._kept: list[bytes] = []  # chunks since the current value began
        self._kept_from = 0  # stream offset of the first kept chunk

    def check(self, chunk: bytes, fed: int, start: int) -> None:
        """Before feeding ``chunk``: ``fed`` bytes went before it, the value being
        assembled began at ``start``. Raises TooLarge."""
        if fed + len(chunk) > self.total_limit:
            raise TooLarge(fed + len(chunk), "the whole stream")
        if self._sizes is not None:
            self._sizes.feed(chunk)
        else:
            while self._kept and self._kept_from + len(self._kept[0]) <= start:
                self._kept_from += len(self._kept.pop(0))
            if not self._kept:
                self._kept_from = fed
            self._kept.append(chunk)
            if fed + len(chunk) - start <= self.WATCH:
                return
            self._sizes = DeclaredSizes(self.value_limit)
            skip = start - self._kept_from
            for part in self._kept:
                self._sizes.feed(memoryview(part)[skip:])
                skip = max(0, skip - len(part))
        self._kept, self._kept_from = [chunk], fed

    def value_done(self) -> None:
        """The value being assembled is complete (msgpack returned it)."""
        self._sizes = None
