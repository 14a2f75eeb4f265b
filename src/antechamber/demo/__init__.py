"""``antechamber demo``: the API, the gateway, a small shop and a tiny room, in one process."""
