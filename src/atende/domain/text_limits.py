"""How long a text each channel accepts, and when an SMS is long enough to warn about.

The composer limits what an agent types to these numbers and the outbound action refuses more, so
both agree (before, the composer took 5,000 characters and the send failed in English).
"""

from __future__ import annotations

# The API's own ceiling for any text (POST .../messages), whatever the channel.
API_MAX_TEXT = 4096

# Characters a channel takes in one text message (WhatsApp Cloud 4096, Messenger 2000, Instagram 1000).
# SMS has no hard stop of its own: long texts go as several segments, and the composer warns past
# ATENDE_SMS_SEGMENT_WARNING segments instead.
CHANNEL_MAX_TEXT: dict[str, int] = {
    "whatsapp": 4096,
    "messenger": 2000,
    "instagram": 1000,
    "sms": API_MAX_TEXT,
    "sandbox": API_MAX_TEXT,
}


def max_text(channel: str) -> int:
    """Characters (code points) one text message may have on `channel`."""
    return CHANNEL_MAX_TEXT.get(channel, API_MAX_TEXT)
