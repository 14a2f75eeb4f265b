"""Black-box tests: the official ``cloudflare`` SDK against a running Antechamber API server."""
