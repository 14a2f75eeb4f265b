"""Which lists the bypass rules of an account's rooms refer to (``ip.src in $office``).

The Lists API reports the count as a list's ``num_referencing_filters`` and, as
Cloudflare does, refuses to delete a list while it is above zero. Finding the
references needs the rule-expression parser (a ``$name`` inside a string literal
is no reference), so until the parser provides them this reports none.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


async def referencing_rule_counts(connection: AsyncConnection, account_id: str) -> dict[str, int]:
    """List name -> how many bypass rules in the account's rooms refer to it (names with none may be absent)."""
    del connection, account_id  # read once the parser can name an expression's list references
    return {}
