"""Request and response bodies of the API, field for field as Cloudflare names them."""
