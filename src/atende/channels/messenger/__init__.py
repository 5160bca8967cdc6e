"""Facebook Messenger (a Facebook Page's inbox) on the shared Meta code (`atende.channels.meta`)."""
