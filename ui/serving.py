"""Pages waiting on the model worker (``llm_core.serving``): the place of a request in the
queue, shown in the page's language while it waits, and engine calls whose tickets are
shared by every session asking the same thing.

A shared call caches the *ticket* (``st.cache_resource``), not only its value: the first
session to ask submits it, any session asking the same while it waits follows the same
ticket (and sees its place), and later ones read its value at once. A ticket that failed
is dropped from the cache, so asking again tries again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from llm_core.serving.tickets import POLL_S, QueuePlace, Ticket
from ui.i18n import t


def place_text(place: QueuePlace) -> str:
    """ "2 requests ahead of you, about 3 s" (or "Starting…" once nothing is ahead)."""
    if place.started or place.ahead == 0:
        return t("serve.starting")
    if place.eta_s is None:
        return t("serve.waiting_unknown", n=place.ahead)
    seconds = max(1, math.ceil(place.eta_s))
    if place.ahead == 1:
        return t("serve.waiting_one", s=seconds)
    return t("serve.waiting", n=place.ahead, s=seconds)


def follow(ticket: Ticket, placeholder: Any = None) -> Any:
    """Wait for ``ticket``, showing its place in ``placeholder`` (a new ``st.empty()`` by
    default) while it waits; return its value or raise its error. Each update is a
    Streamlit call, so a click elsewhere still interrupts the wait."""
    shown = False
    while not ticket.wait(POLL_S):
        placeholder = placeholder if placeholder is not None else st.empty()
        placeholder.caption(place_text(ticket.place()))
        shown = True
    if shown:
        placeholder.empty()
    return ticket.result()


def shared_call(submit: Callable[..., Ticket], *args: Any) -> Any:
    """The value of ``submit(*args)``'s ticket, where ``submit`` is an ``st.cache_resource``
    function returning a ticket (see module doc); a failure is not kept."""
    ticket = submit(*args)
    try:
        return follow(ticket)
    finally:
        if ticket.failed:
            submit.clear(*args)
