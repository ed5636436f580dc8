"""How a step of a call is worded: one description for `ivr sim` and for the `ivr test` report.

Both take the event that ends a step (`simulator.action_event`): a `listen`, `transfer` or
`hangup` event with the node it happened at (empty on the TwiML path, which names no nodes).
"""

from __future__ import annotations

from collections.abc import Mapping


def outcome(event: Mapping[str, object], detail: str = "") -> str:
    """What the call does next, as a transcript line: `... waiting for a key or speech (main)`,
    `-> TRANSFER to +81120950178 (lost_desk)`, `-> HANG UP (goodbye)`; `detail` joins the node
    in the parentheses."""
    inside = "; ".join(str(part) for part in (event.get("node"), detail) if part)
    at = f" ({inside})" if inside else ""
    kind = event["type"]
    if kind == "listen":
        return f"... waiting for a key or speech{at}"
    if kind == "transfer":
        return f"-> TRANSFER to {event['to']}{at}"
    return f"-> HANG UP{at}"


def standing(event: Mapping[str, object]) -> str:
    """Where the call stands, as a clause for a message: `the call waits for a key or speech at main`."""
    at = f" at {event['node']}" if event.get("node") else ""
    kind = event["type"]
    if kind == "listen":
        return f"the call waits for a key or speech{at}"
    if kind == "transfer":
        return f"the call is transferred to {event['to']}{at}"
    return f"the call hangs up{at}"
