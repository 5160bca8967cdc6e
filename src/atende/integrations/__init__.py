"""Outside systems that are not channels (Odoo: partners, chatter, ChatRoom history)."""
