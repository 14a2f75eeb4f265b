"""The markup for ``{{{turnstile}}}``: the challenge widget for a room's mode and provider.

The markup is the same for every visitor of a room (per mode, provider and room id),
so the gateway's page cache keeps working; what is per visitor travels on two
requests the widget makes by itself, both carrying the room cookie (same origin):

1. ``GET {challenge}?room=ID``: the gateway opens the room cookie, takes the visitor
   id from the ticket and answers ``Altcha.issue(room, visitor)`` as JSON. (Turnstile
   skips this: Cloudflare's script fetches its own challenge.)
2. ``POST {verify}?room=ID`` with the solution in the ``X-Antechamber-Challenge``
   header (the inline script sends it when the widget reports ``verified``; for
   Turnstile it sends the token the same way). A header, not a body, so that both of
   the gateway's front ends answer it without reading request bodies. The gateway
   redeems it against the visitor in the room cookie and, on a pass, re-seals the
   ticket with ``challenge_passed`` and answers ``{"verified": true}`` with the new ``Set-Cookie``; otherwise
   ``{"verified": false, "reason": "..."}``.
3. On ``verified`` the inline script reloads the page: the next request carries the
   passed ticket, and the gateway puts the visitor in the real line.

Per mode (ALTCHA): ``invisible`` solves on load with nothing shown;
``visible_non_interactive`` shows the widget solving on load; ``visible_managed``
shows an unticked checkbox and solves when the visitor ticks it. With Turnstile the
site key's own widget type decides the challenge, and ``invisible`` only keeps the
widget hidden unless Cloudflare needs an interaction (``data-appearance``).

Everything interpolated is escaped for its context: HTML attributes with
:func:`html.escape`, URL query values with :func:`urllib.parse.quote`, and strings
inside inline scripts as JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no
value can close the ``<script>`` element.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import quote

from antechamber.core.types import TurnstileMode

#: The gateway's own path prefix for the challenge (see ``gateway/forward_auth.py``).
PREFIX = "/.antechamber/challenge"
#: The request header that carries the widget's solution (or Turnstile's token) to ``verify``.
SOLUTION_HEADER = "x-antechamber-challenge"
#: The vendored widget, as ``importlib.resources`` finds it in this package.
ALTCHA_SCRIPT_FILE = "static/altcha.i18n.min.js"
TURNSTILE_SCRIPT = "https://challenges.cloudflare.com/turnstile/v0/api.js"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the gateway serves the widget script, issues challenges and takes answers."""

    script: str = f"{PREFIX}/altcha.i18n.min.js"
    challenge: str = PREFIX
    verify: str = f"{PREFIX}/verify"


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _js_string(value: str) -> str:
    # JSON is a JS string literal; escaping <, > and & keeps "</script>" and "<!--" out.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _with_room(path: str, room_id: str) -> str:
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}room={quote(room_id, safe='')}"


# Sends the solution the widget (before it) reports, then reloads once the gateway took it.
# A classic script, so currentScript works (the widget's module script runs later, and
# the listener waits for its event).
_ALTCHA_SUBMIT = (
    "<script>(function(w,u){{w&&w.addEventListener('verified',function(e){{"
    "fetch(u,{{method:'POST',credentials:'same-origin',headers:{{'{header}':e.detail.payload}}}})"
    ".then(function(r){{return r.json()}}).then(function(a){{if(a&&a.verified)location.reload()}})"
    ".catch(function(){{}})}})}})(document.currentScript.previousElementSibling,{verify})</script>"
)

_TURNSTILE_POST = (
    "<script>window.antechamberTurnstilePassed=function(t){{"
    "fetch({verify},{{method:'POST',credentials:'same-origin',headers:{{'{header}':t}}}})"
    ".then(function(r){{return r.json()}}).then(function(a){{if(a&&a.verified)location.reload()}})"
    ".catch(function(){{}})}}</script>"
)


def altcha_widget(mode: TurnstileMode, room_id: str, *, endpoints: Endpoints | None = None) -> str:
    """The ALTCHA widget for ``mode`` (empty for ``off``).

    Args:
        mode: the room's effective ``turnstile_mode``.
        room_id: the room, named in the challenge and verify URLs.
        endpoints: the gateway's paths (defaults under ``/.antechamber/challenge``).
    """
    if mode == "off":
        return ""
    paths = endpoints or Endpoints()
    configuration: dict[str, object] = {"hideFooter": True}
    if mode == "invisible":
        display, auto = "invisible", "onload"
        # Nobody watches a spinner here, so no artificial minimum duration.
        configuration["minDuration"] = 0
    elif mode == "visible_non_interactive":
        display, auto = "standard", "onload"
    else:
        display, auto = "standard", "off"
    return (
        f'<script type="module" src="{_attr(paths.script)}"></script>'
        f'<altcha-widget challenge="{_attr(_with_room(paths.challenge, room_id))}" display="{display}" auto="{auto}"'
        f' configuration="{_attr(json.dumps(configuration, separators=(",", ":")))}"'
        f' data-antechamber-mode="{mode}"></altcha-widget>'
        + _ALTCHA_SUBMIT.format(header=SOLUTION_HEADER, verify=_js_string(_with_room(paths.verify, room_id)))
    )


def turnstile_widget(
    mode: TurnstileMode,
    room_id: str,
    *,
    site_key: str,
    action: str,
    endpoints: Endpoints | None = None,
    script_url: str = TURNSTILE_SCRIPT,
) -> str:
    """Cloudflare's Turnstile widget for ``mode`` (empty for ``off``).

    Args:
        mode: the room's effective ``turnstile_mode``.
        room_id: the room, named in the verify URL.
        site_key: the operator's Turnstile site key.
        action: the widget's ``data-action``
            (:func:`antechamber.challenge.turnstile.action_for` of the room id).
        endpoints: the gateway's paths (only ``verify`` is used).
        script_url: Cloudflare's ``api.js``.
    """
    if mode == "off":
        return ""
    paths = endpoints or Endpoints()
    appearance = "interaction-only" if mode == "invisible" else "always"
    verify = _js_string(_with_room(paths.verify, room_id))
    return (
        f'<script src="{_attr(script_url)}" async defer></script>'
        f'<div class="cf-turnstile" data-sitekey="{_attr(site_key)}" data-action="{_attr(action)}"'
        f' data-appearance="{appearance}" data-response-field="false"'
        ' data-callback="antechamberTurnstilePassed"></div>'
        + _TURNSTILE_POST.format(verify=verify, header=SOLUTION_HEADER)
    )
