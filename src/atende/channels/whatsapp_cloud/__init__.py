"""WhatsApp Cloud API provider (`whatsapp_cloud`, channel `whatsapp`)."""

from atende.channels.whatsapp_cloud.config import WhatsAppCloudConfig
from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider

__all__ = ["WhatsAppCloudConfig", "WhatsAppCloudProvider"]
