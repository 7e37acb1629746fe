"""The dashboard: a small aiohttp server (JSON API, server-sent events, one static page) over a store."""
