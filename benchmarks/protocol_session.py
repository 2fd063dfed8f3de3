"""A Streamlit session held over the server's own websocket protocol, without a browser.

A browser tab talks to ``streamlit run`` over one websocket (``/_stcore/stream``): it
sends ``BackMsg`` protobufs (run the script of this page with this query string and these
widget values) and receives ``ForwardMsg`` ones (each element drawn, the script's status,
its end). ``ProtocolSession`` does the same from asyncio, so a benchmark can hold 30
sessions on a machine whose cores would otherwise go to 30 Chromium tabs rendering the
pages. The server cannot tell the difference: same handshake, same messages, same
sessions, the same script runs. What it does not measure is a browser's own drawing of
what arrives (on a student's laptop, in parallel with everyone else's).

    session = await ProtocolSession.open("http://127.0.0.1:8501")
    await session.run("attention", query="text=hi")          # until the script has finished
    session.first("plotly_chart")                              # seconds to the first chart
    await session.run("generation", widgets={"Prompt": "hi", "Generate": True})
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")
# Elements with a text a benchmark may wait for, and the field holding it.
TEXT_FIELDS = {"markdown": "body", "text": "body", "alert": "body", "heading": "body"}


@dataclass
class Drawn:
    """What the last run sent: elements by their place, when each kind first came."""

    started: float = field(default_factory=time.perf_counter)
    elements: dict[tuple[int, ...], Any] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)  # element kind -> seconds
    texts: list[tuple[float, str]] = field(default_factory=list)
    runs: int = 0  # script runs started (a page that reruns itself has more than 1)


class ProtocolSession:
    """One session of the app over its websocket (see module doc)."""

    def __init__(self, socket, url: str) -> None:
        self.socket = socket
        self.url = url
        self.drawn = Drawn()
        self.widgets: dict[str, tuple[str, str]] = {}  # label -> (kind, widget id)
        self._finished = asyncio.Event()
        self._receiver = asyncio.create_task(self._receive())

    @classmethod
    async def open(cls, url: str) -> ProtocolSession:
        import websockets

        stream = url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
        socket = await websockets.connect(
            stream, subprotocols=["streamlit"], origin=url, max_size=None, open_timeout=120,
            ping_interval=None,  # a server busy for minutes on two cores answers late
        )  # fmt: skip
        return cls(socket, url)

    async def close(self) -> None:
        self._receiver.cancel()
        await self.socket.close()

    # ------------------------------------------------------------------ running

    async def run(
        self, page: str, query: str = "", widgets: dict[str, Any] | None = None,
        timeout: float = 900.0,
    ) -> float:  # fmt: skip
        """Run ``page`` with ``query`` and ``widgets`` ({label: value}: a string, a number,
        a bool; True for a button press) until its script has finished (through any reruns
        it asks for itself); the seconds it took. Raises ``RuntimeError`` for an exception
        drawn on the page or a script that did not compile."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = query
        state.page_name = page
        for label, value in (widgets or {}).items():
            kind, widget_id = self.widgets[label]
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            if kind in ("button", "download_button"):
                widget.trigger_value = bool(value)
            elif isinstance(value, bool):
                widget.bool_value = value
            elif isinstance(value, int):
                widget.int_value = value
            elif isinstance(value, float):
                widget.double_value = value
            else:
                widget.string_value = str(value)
        self.drawn = Drawn()
        self._finished.clear()
        await self.socket.send(message.SerializeToString())
        await asyncio.wait_for(self._finished.wait(), timeout)
        if self._receiver.done():
            self._receiver.result()  # the socket closed: its error
        errors = [e for e in self.drawn.elements.values() if e.WhichOneof("type") == "exception"]
        if errors:
            raise RuntimeError(f"exception on the page: {errors[0].exception.message[:160]}")
        return time.perf_counter() - self.drawn.started

    def first(self, kind: str) -> float | None:
        """Seconds from the last run's start to the first element of ``kind`` it drew."""
        return self.drawn.first_seen.get(kind)

    def first_text(self, needle: str) -> float | None:
        """Seconds to the first text element of the last run containing ``needle``."""
        return next((s for s, text in self.drawn.texts if needle in text), None)

    # ------------------------------------------------------------------ receiving

    async def _receive(self) -> None:
        try:
            async for frame in self.socket:
                message = ForwardMsg()
                message.ParseFromString(frame)
                self._take(message)
        finally:
            self._finished.set()  # a run waiting on a closed socket ends (and raises)

    def _take(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        drawn = self.drawn
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_kind = element.WhichOneof("type")
            seconds = time.perf_counter() - drawn.started
            drawn.elements[tuple(message.metadata.delta_path)] = element
            drawn.first_seen.setdefault(element_kind, seconds)
            inner = getattr(element, element_kind)
            if element_kind in TEXT_FIELDS:
                drawn.texts.append((seconds, getattr(inner, TEXT_FIELDS[element_kind])))
            if hasattr(inner, "id") and hasattr(inner, "label") and inner.id:
                self.widgets[inner.label] = (element_kind, inner.id)
        elif kind == "session_status_changed" and message.session_status_changed.script_is_running:
            drawn.runs += 1
        elif kind == "script_finished" and message.script_finished in (FINISHED, COMPILE_ERROR):
            if message.script_finished == COMPILE_ERROR:
                drawn.elements[(-1,)] = _compile_error()
            self._finished.set()


def _compile_error():
    from streamlit.proto.Element_pb2 import Element

    element = Element()
    element.exception.message = "the script did not compile"
    return element
