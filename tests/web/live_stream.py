"""A live inbox stream (web/live.py) read as a browser's EventSource reads it: the chunks parsed into events as
they come from the real app (Flask's test client, unbuffered), so a test waits on the event it expects — the
stream's own wake (LISTEN/NOTIFY, the SQLite poll) brings it — never on the wall clock."""
from __future__ import annotations

import json


class Stream:
    def __init__(self, client, path: str = "/api/live", headers=None, **kwargs):
        self.response = client.get(path, headers=headers or {}, buffered=False, **kwargs)
        self.status = self.response.status_code
        self._chunks = iter(self.response.response)
        self._buffer = ""
        self.last_id = self.retry = None
        self.ended = False

    def blocks(self):
        """Each event as (event name or None, data or None), a comment as ("comment", text), a cursor alone
        as ("id", cursor), until the end."""
        while True:
            while "\n\n" not in self._buffer:
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    self.ended = True
                    return
                self._buffer += chunk.decode("utf-8") if isinstance(chunk, bytes) else chunk
            block, self._buffer = self._buffer.split("\n\n", 1)
            name, data, cursor = None, None, None
            for line in block.split("\n"):
                field, _, value = line.partition(": ")
                if line.startswith(":"):
                    yield "comment", line[1:].strip()
                elif field == "retry":
                    self.retry = int(value)
                elif field == "id":
                    self.last_id = cursor = value
                elif field == "event":
                    name = value
                elif field == "data":
                    data = json.loads(value)
            if name or data is not None:
                yield name, data
            elif cursor is not None:
                yield "id", cursor

    def next(self, *names) -> dict:
        """The data of the next event named one of `names` (the others passed over)."""
        for name, data in self.blocks():
            if name in names:
                return data
        raise AssertionError(f"the stream ended before a {' or '.join(names)} event")

    def until(self, high: int) -> list[tuple]:
        """Every event up to the pass whose cursor reaches feed id `high`: what the stream said of those rows
        (the counts that end each pass left out)."""
        seen = []
        if self.cursor_high() >= high:
            return seen
        for block in self.blocks():
            if block[0] not in ("comment", "id", "counts"):
                seen.append(block)
            if self.cursor_high() >= high:
                return seen
        raise AssertionError(f"the stream ended at {self.last_id}, before feed id {high}: {seen}")

    def rest(self) -> list[tuple]:
        return list(self.blocks())

    def cursor_high(self) -> int:
        return int(self.last_id.partition(":")[0]) if self.last_id else -1

    def close(self):
        self.response.close()
