"""Shared Meta Graph API pieces: HTTP client core, webhook signature and handshake.

Used by the WhatsApp Cloud provider and, later, by Messenger and Instagram.
"""
