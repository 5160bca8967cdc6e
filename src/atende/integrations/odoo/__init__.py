"""The Odoo bridge: partners linked to contacts, transcripts in the chatter, ChatRoom history import.

Everything goes through Odoo's external API (JSON-RPC, `client.py`) with a login and an API key.
"""
