"""Antechamber: a self-hosted virtual waiting room with a Cloudflare-compatible API."""

__version__ = "0.1.0"
