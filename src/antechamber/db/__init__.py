"""The config store: tables, migrations and the queries the control plane runs.

SQLAlchemy Core over ``sqlite+aiosqlite`` (default) or ``postgresql+asyncpg``.
Rooms, events and rules keep their Cloudflare-shaped JSON in a ``body`` column
so that readers (the API, the gateway) see exactly the fields the API speaks;
the columns beside it exist for keys, ordering and uniqueness.
"""
