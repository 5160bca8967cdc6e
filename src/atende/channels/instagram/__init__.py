"""Instagram Direct (an Instagram professional account's messages) on the shared Meta code."""
