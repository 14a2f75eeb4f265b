"""The data plane: reverse proxy and forward-auth endpoint in front of the origin."""
