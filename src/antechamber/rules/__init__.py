"""Bypass rule expressions (Cloudflare's Rules language)."""
