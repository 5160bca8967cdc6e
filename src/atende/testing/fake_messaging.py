"""The Messenger Platform side of the fake Graph API: Facebook Pages (Messenger) and Instagram
accounts, their customers, the Send API, attachment uploads, profiles, and the webhooks Meta builds.

Reached through `FakeGraph.messaging` (same app, same host): `POST /{ver}/{page_or_ig_id}/messages`,
`POST /{ver}/{page_id}/message_attachments`, `GET /{ver}/{psid_or_igsid}?fields=…` (profiles),
`GET /{ver}/{page_or_ig_id}` (connection test) and `GET /cdn/{token}` (the files customers send,
unauthenticated like Meta's signed CDN links).

Behaviour (shared/providers/whatsapp-meta.md §4): the 24 h window from the customer's last message,
then `MESSAGE_TAG` + `HUMAN_AGENT` for 7 days when the page has the tag, else error 10 (subcode
2018278 on Messenger, 2534022 on Instagram); text limits (2000 / 1000 characters); every accepted
send is echoed (`is_echo`, our `metadata`) in `pending_webhooks`. Webhooks are encoded and signed
exactly as WhatsApp's (`encode`, `X-Hub-Signature-256`), timestamps in milliseconds.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi.responses import JSONResponse

Platform = Literal["page", "instagram"]
DAY_S = 24 * 3600.0
_WINDOW_SUBCODE = {"page": 2018278, "instagram": 2534022}
_TEXT_LIMIT = {"page": 2000, "instagram": 1000}
_ATTACHMENT_TYPES = frozenset({"image", "video", "audio", "file"})


@dataclass
class FakePage:
    id: str
    platform: Platform
    name: str
    username: str | None = None
    human_agent: bool = False  # the app was granted the HUMAN_AGENT tag for this page


@dataclass
class FakeUser:
    id: str  # PSID / IGSID
    first_name: str = "Cliente"
    last_name: str = ""
    username: str | None = None
    profile_pic: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass
class MessagingSend:
    mid: str
    node: str  # the Graph node posted to (page id, or IG id)
    recipient: str
    body: dict[str, Any]
    messaging_type: str
    tag: str | None
    metadata: str | None
    timestamp_ms: int

    @property
    def text(self) -> str | None:
        value = self.body.get("message", {}).get("text")
        return value if isinstance(value, str) else None

    @property
    def attachment(self) -> dict[str, Any] | None:
        value = self.body.get("message", {}).get("attachment")
        return value if isinstance(value, dict) else None


def graph_error(code: int, http_status: int = 400, message: str | None = None, *,
                error_subcode: int | None = None) -> JSONResponse:
    """A Graph error answer as the Send API gives it."""
    error: dict[str, Any] = {"message": message or f"(#{code}) Error", "type": "OAuthException", "code": code,
                             "fbtrace_id": "A" + secrets.token_urlsafe(16)}
    if error_subcode is not None:
        error["error_subcode"] = error_subcode
    return JSONResponse({"error": error}, status_code=http_status)


@dataclass
class MessagingFake:
    clock: Callable[[], float] = time.time  # the fake Graph's clock (it can be moved forward)
    pages: dict[str, FakePage] = field(default_factory=dict)
    users: dict[str, FakeUser] = field(default_factory=dict)
    sent: list[MessagingSend] = field(default_factory=list)
    attachments: dict[str, tuple[bytes, str, str | None]] = field(default_factory=dict)
    last_customer_at: dict[tuple[str, str], float] = field(default_factory=dict)
    cdn: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    pending_webhooks: list[dict[str, Any]] = field(default_factory=list)
    sender_actions: list[tuple[str, str, str]] = field(default_factory=list)  # (node, user, action)
    app_id: str = "1517776481860111"

    # ------------------------------------------------------------------------------ driving

    def add_page(self, page_id: str, *, platform: Platform = "page", name: str = "Loja Exemplo",
                 username: str | None = None, human_agent: bool = False) -> FakePage:
        page = FakePage(page_id, platform, name, username, human_agent)
        self.pages[page_id] = page
        return page

    def add_user(self, user_id: str, first_name: str = "Cliente", last_name: str = "", *,
                 username: str | None = None, profile_pic: str | None = None) -> FakeUser:
        user = FakeUser(user_id, first_name, last_name, username, profile_pic)
        self.users[user_id] = user
        return user

    def add_cdn_file(self, data: bytes, mime_type: str, base_url: str = "http://graph.test") -> str:
        """A file a customer sends: served at the returned URL without a token (as Meta's CDN)."""
        token = secrets.token_urlsafe(12)
        self.cdn[token] = (data, mime_type)
        return f"{base_url.rstrip('/')}/cdn/{token}"

    def sent_to(self, user_id: str) -> list[MessagingSend]:
        return [s for s in self.sent if s.recipient == user_id]

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---------------------------------------------------------------------------- webhooks

    def envelope(self, page_id: str, events: Sequence[Mapping[str, Any]], *, standby: bool = False) -> dict[str, Any]:
        page = self.pages[page_id]
        entry: dict[str, Any] = {"id": page_id, "time": self.now_ms(), ("standby" if standby else "messaging"):
                                 [dict(e) for e in events]}
        return {"object": page.platform, "entry": [entry]}

    def event(self, page_id: str, user_id: str, *, echo: bool = False, timestamp_ms: int | None = None,
              **content: Any) -> dict[str, Any]:
        sender, recipient = (page_id, user_id) if echo else (user_id, page_id)
        stamp = timestamp_ms if timestamp_ms is not None else self.now_ms()
        if not echo and any(k in content for k in ("message", "postback", "referral")):
            self.last_customer_at[(page_id, user_id)] = stamp / 1000  # opens the 24 h window
        return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": stamp, **content}

    @staticmethod
    def new_mid() -> str:
        return "m_" + secrets.token_urlsafe(30)

    def text(self, page_id: str, user_id: str, text: str, *, mid: str | None = None,
             reply_to: str | None = None, quick_reply: str | None = None, **kw: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"mid": mid or self.new_mid(), "text": text}
        if reply_to:
            message["reply_to"] = {"mid": reply_to}
        if quick_reply:
            message["quick_reply"] = {"payload": quick_reply}
        return self.envelope(page_id, [self.event(page_id, user_id, message=message, **kw)])

    def attachment(self, page_id: str, user_id: str, atype: str, *, url: str | None = None,
                   payload: Mapping[str, Any] | None = None, mid: str | None = None, text: str | None = None,
                   **kw: Any) -> dict[str, Any]:
        body = dict(payload or {})
        if url is not None:
            body["url"] = url
        message: dict[str, Any] = {"mid": mid or self.new_mid(), "attachments": [{"type": atype, "payload": body}]}
        if text is not None:
            message["text"] = text
        return self.envelope(page_id, [self.event(page_id, user_id, message=message, **kw)])

    def story_reply(self, page_id: str, user_id: str, text: str, story_id: str, story_url: str) -> dict[str, Any]:
        message = {"mid": self.new_mid(), "text": text, "reply_to": {"story": {"url": story_url, "id": story_id}}}
        return self.envelope(page_id, [self.event(page_id, user_id, message=message)])

    def deleted(self, page_id: str, user_id: str, mid: str) -> dict[str, Any]:
        return self.envelope(page_id, [self.event(page_id, user_id, message={"mid": mid, "is_deleted": True})])

    def unsupported(self, page_id: str, user_id: str) -> dict[str, Any]:
        message = {"mid": self.new_mid(), "is_unsupported": True}
        return self.envelope(page_id, [self.event(page_id, user_id, message=message)])

    def edit(self, page_id: str, user_id: str, mid: str, text: str, num_edit: int = 1) -> dict[str, Any]:
        return self.envelope(page_id, [self.event(page_id, user_id, message_edit={
            "mid": mid, "text": text, "num_edit": num_edit})])

    def reaction(self, page_id: str, user_id: str, mid: str, emoji: str = "❤", *, unreact: bool = False,
                 ) -> dict[str, Any]:
        reaction: dict[str, Any] = {"mid": mid, "action": "unreact" if unreact else "react", "reaction": "love"}
        if not unreact:
            reaction["emoji"] = emoji
        return self.envelope(page_id, [self.event(page_id, user_id, reaction=reaction)])

    def postback(self, page_id: str, user_id: str, title: str, payload: str) -> dict[str, Any]:
        return self.envelope(page_id, [self.event(page_id, user_id, postback={
            "mid": self.new_mid(), "title": title, "payload": payload})])

    def referral(self, page_id: str, user_id: str, ref: str, source: str = "SHORTLINK") -> dict[str, Any]:
        return self.envelope(page_id, [self.event(page_id, user_id, referral={
            "ref": ref, "source": source, "type": "OPEN_THREAD"})])

    def echo_from_inbox(self, page_id: str, user_id: str, text: str, *, app_id: str = "263902037430900",
                        ) -> dict[str, Any]:
        """A message a person typed in the page's own inbox (Meta Business Suite / Instagram app)."""
        message = {"mid": self.new_mid(), "text": text, "is_echo": True, "app_id": app_id}
        return self.envelope(page_id, [self.event(page_id, user_id, echo=True, message=message)])

    def delivery(self, page_id: str, user_id: str, *, mids: Sequence[str] = (), watermark_ms: int | None = None,
                 ) -> dict[str, Any]:
        delivery: dict[str, Any] = {"watermark": watermark_ms if watermark_ms is not None else self.now_ms()}
        if mids:
            delivery["mids"] = list(mids)
        return self.envelope(page_id, [self.event(page_id, user_id, delivery=delivery)])

    def read(self, page_id: str, user_id: str, *, watermark_ms: int | None = None, mid: str | None = None,
             ) -> dict[str, Any]:
        """Messenger: `read.watermark`; Instagram `messaging_seen`: `read.mid`."""
        read: dict[str, Any] = {"mid": mid} if mid else {
            "watermark": watermark_ms if watermark_ms is not None else self.now_ms()}
        return self.envelope(page_id, [self.event(page_id, user_id, read=read)])

    # ------------------------------------------------------------------------------ the API

    def send(self, node: str, body: Any) -> JSONResponse:
        page = self.pages[node]
        if not isinstance(body, dict):
            return graph_error(100, 400, "(#100) Invalid JSON in request body")
        recipient = body.get("recipient")
        user_id = recipient.get("id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id:
            return graph_error(100, 400, "(#100) The parameter recipient is required")
        if user_id not in self.users:
            return graph_error(100, 400, "(#100) No matching user found", error_subcode=2018001)
        message = body.get("message")
        action = body.get("sender_action")
        if action is not None:
            if action not in ("mark_seen", "typing_on", "typing_off", "react", "unreact"):
                return graph_error(100, 400, "(#100) Param sender_action must be one of mark_seen, typing_on, "
                                   "typing_off, react, unreact")
            self.sender_actions.append((node, user_id, str(action)))
            return JSONResponse({"recipient_id": user_id})
        if not isinstance(message, dict):
            return graph_error(100, 400, "(#100) The parameter message is required")
        problem = self._validate(page, message)
        if problem is not None:
            return problem
        mtype = body.get("messaging_type", "RESPONSE")
        tag = body.get("tag")
        last = self.last_customer_at.get((node, user_id))
        age = None if last is None else self.clock() - last
        if mtype == "MESSAGE_TAG":
            if tag != "HUMAN_AGENT" or not page.human_agent:
                return graph_error(10, 400, "(#10) This message is sent outside of allowed window. Learn more "
                                   "about the new policy here: https://developers.facebook.com/docs/messenger-"
                                   "platform/policy-overview", error_subcode=2018065)
            if age is None or age > 7 * DAY_S:
                return graph_error(10, 400, "(#10) This message is sent outside of allowed window.",
                                   error_subcode=_WINDOW_SUBCODE[page.platform])
        elif age is None or age > DAY_S:
            return graph_error(10, 400, "(#10) This message is sent outside of allowed window.",
                               error_subcode=_WINDOW_SUBCODE[page.platform])
        mid = self.new_mid()
        metadata = message.get("metadata") if isinstance(message.get("metadata"), str) else None
        stamp = self.now_ms()
        self.sent.append(MessagingSend(mid, node, user_id, body, str(mtype), tag if isinstance(tag, str) else None,
                                       metadata, stamp))
        echo: dict[str, Any] = {"mid": mid, "is_echo": True, "app_id": self.app_id}
        for key in ("text", "attachments"):
            if key in message:
                echo[key] = message[key]
        if "attachment" in message:
            echo["attachments"] = [message["attachment"]]
        if metadata is not None:
            echo["metadata"] = metadata
        self.pending_webhooks.append(self.envelope(node, [self.event(node, user_id, echo=True, message=echo,
                                                                     timestamp_ms=stamp)]))
        return JSONResponse({"recipient_id": user_id, "message_id": mid})

    def _validate(self, page: FakePage, message: Mapping[str, Any]) -> JSONResponse | None:
        text, attachment = message.get("text"), message.get("attachment")
        if (text is None) == (attachment is None):
            return graph_error(100, 400, "(#100) Exactly one of message[text] or message[attachment] is required")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                return graph_error(100, 400, "(#100) Param message[text] must be a non-empty UTF-8 encoded string")
            if len(text) > _TEXT_LIMIT[page.platform]:
                return graph_error(100, 400, f"(#100) Length of param message[text] must be less than or equal to "
                                   f"{_TEXT_LIMIT[page.platform]}")
            return None
        if not isinstance(attachment, dict) or attachment.get("type") not in _ATTACHMENT_TYPES:
            return graph_error(100, 400, "(#100) Param message[attachment][type] must be one of image, video, "
                               "audio, file")
        payload = attachment.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        if "attachment_id" in payload:
            if str(payload["attachment_id"]) not in self.attachments:
                return graph_error(100, 400, "(#100) Invalid attachment_id", error_subcode=2018047)
        elif not str(payload.get("url", "")).startswith(("http://", "https://")):
            return graph_error(100, 400, "(#100) message[attachment][payload][url] must be a valid URL")
        if "caption" in attachment or "caption" in payload:
            return graph_error(100, 400, "(#100) Param message[attachment][caption] is not a valid parameter")
        return None

    def upload(self, node: str, fields: Mapping[str, Any], data: bytes | None, mime: str | None,
               filename: str | None) -> JSONResponse:
        if self.pages[node].platform != "page":
            return graph_error(100, 400, "(#100) Attachment upload is available for Facebook Pages only")
        try:
            message = json.loads(str(fields.get("message") or ""))
        except ValueError:
            return graph_error(100, 400, "(#100) Param message must be JSON")
        atype = message.get("attachment", {}).get("type") if isinstance(message, dict) else None
        if atype not in _ATTACHMENT_TYPES or data is None:
            return graph_error(100, 400, "(#100) message[attachment][type] and filedata are required")
        if len(data) > 25 * 1024 * 1024:
            return graph_error(100, 400, "(#100) Attachment size exceeds allowable limit", error_subcode=2018109)
        attachment_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        self.attachments[attachment_id] = (data, mime or "application/octet-stream", filename)
        return JSONResponse({"attachment_id": attachment_id})

    def profile(self, user_id: str, fields: str) -> JSONResponse:
        user = self.users[user_id]
        values: dict[str, Any] = {"first_name": user.first_name, "last_name": user.last_name, "name": user.name,
                                  "username": user.username, "profile_pic": user.profile_pic}
        wanted = [f for f in fields.split(",") if f] or ["name"]
        answer = {k: values[k] for k in wanted if values.get(k) is not None}
        answer["id"] = user_id
        return JSONResponse(answer)

    def page_info(self, node: str) -> JSONResponse:
        page = self.pages[node]
        answer: dict[str, Any] = {"id": node, "name": page.name}
        if page.username:
            answer["username"] = page.username
        return JSONResponse(answer)

    def flush(self) -> list[dict[str, Any]]:
        pending, self.pending_webhooks = self.pending_webhooks, []
        return pending


def seconds_ago_ms(seconds: float) -> int:
    return int((time.time() - seconds) * 1000)
