"""Channel-specific behaviour the generic job handlers call into (media, provider events)."""

from __future__ import annotations

from atende.runtime import Runtime


def install_hooks(rt: Runtime) -> None:
    """Attach the optional hooks available in this installation."""
    try:
        from atende.channels.whatsapp_cloud.engine import install
    except ImportError:
        return
    install(rt)
