"""The ``antechamber`` command.

::

    antechamber serve [--data-dir DIR] [--api HOST:PORT] [--gateway HOST:PORT] [--origin URL]
                      [--origin-for HOST=URL ...] [--trusted-proxy CIDR ...] [--min-user-limit N]
                      [--gateway-server uvicorn|raw]
    antechamber demo [--data-dir DIR] [--api ...] [--gateway ...] [--shop HOST:PORT]
    antechamber surge [--url URL] [--visitors N] [--rate R] [--duration S]
    antechamber simulate [--scenario flash|ramp|event|...] [--visitors N] [--out DIR] ...
    antechamber zones create NAME [--json]
    antechamber zones list [--json]
    antechamber tokens create --scope read|write [--zone ID ...] [--name TEXT] [--json]
    antechamber tokens list [--json]
    antechamber tokens revoke TOKEN_ID
    antechamber keys list [--json]
    antechamber keys stage
    antechamber keys use KEY_ID
    antechamber keys rotate
    antechamber crawlers show [--json]
    antechamber crawlers update FILE [--crawler NAME] [--source URL]
    antechamber dashboard password [--stdin | --clear]
    antechamber migrate

Every command but ``surge`` and ``simulate`` takes ``--data-dir`` (env ``ANTECHAMBER_DATA_DIR``, default ``./data``);
all but those and ``keys`` also take ``--database-url`` (env ``ANTECHAMBER_DATABASE_URL``) and migrate the store first.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from antechamber import keystore
from antechamber.db import accounts, tokens
from antechamber.db.engine import Database
from antechamber.logging import configure_logging
from antechamber.settings import Settings, parse_bind
from antechamber.sim.cli import simulate
from antechamber.surge import MAX_DURATION, MAX_RATE, MAX_VISITORS

T = TypeVar("T")

app = typer.Typer(help="Antechamber: a self-hosted virtual waiting room.", no_args_is_help=True)
zones_app = typer.Typer(help="Register and list zones (the domains rooms live in).", no_args_is_help=True)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
keys_app = typer.Typer(
    help="List, stage and switch the cookie keys (every node needs the same key file).", no_args_is_help=True
)
app.add_typer(zones_app, name="zones")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")
crawlers_app = typer.Typer(
    help="Show and replace the search-engine crawler IP ranges (search_engine_crawler_bypass).", no_args_is_help=True
)
app.add_typer(crawlers_app, name="crawlers")
dashboard_app = typer.Typer(help="The web dashboard at /dashboard on the API's port.", no_args_is_help=True)
app.add_typer(dashboard_app, name="dashboard")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env ANTECHAMBER_DATA_DIR; default ./data).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the store (env ANTECHAMBER_DATABASE_URL; default SQLite)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def load_settings(data_dir: Path | None, database_url: str | None, **overrides: Any) -> Settings:
    """Environment settings with the command line's flags on top."""
    flags: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        flags["data_dir"] = data_dir
    if database_url is not None:
        flags["database_url"] = database_url
    return Settings(**flags)


def with_store(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open and migrate the store, run ``work`` on it, close it."""

    async def run() -> T:
        if settings.database_url is None:
            settings.prepare_data_dir()
        database = Database(settings.resolved_database_url())
        try:
            await database.migrate()
            if settings.database_url is None:
                settings.prepare_data_dir()
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def fail(message: str) -> None:
    """Print to stderr and exit with status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


ApiBind = Annotated[
    str | None,
    typer.Option("--api", help="Where the API listens, HOST:PORT, or off (env ANTECHAMBER_API; 127.0.0.1:8080)."),
]
GatewayBind = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        help="Where the gateway listens, HOST:PORT, or off for an API-only node (env ANTECHAMBER_GATEWAY; "
        "127.0.0.1:8000).",
    ),
]
LogLevel = Annotated[str | None, typer.Option("--log-level", help="debug, info, warning or error.")]
MinUserLimit = Annotated[
    int | None,
    typer.Option(
        "--min-user-limit",
        min=1,
        max=200,
        help="Lowest total_active_users / new_users_per_minute the API accepts (env ANTECHAMBER_MIN_USER_LIMIT; "
        "Cloudflare's 200 by default; lower it for small sites).",
    ),
]


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    api: ApiBind = None,
    gateway: GatewayBind = None,
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin", help="The origin the gateway forwards to, http(s)://HOST[:PORT] (env ANTECHAMBER_ORIGIN)."
        ),
    ] = None,
    origin_for: Annotated[
        list[str] | None,
        typer.Option(
            "--origin-for", help="HOST=URL: a site with its own origin (repeatable; env ANTECHAMBER_ORIGIN_FOR, JSON)."
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="IP or CIDR whose X-Forwarded-* headers are believed (repeatable; default loopback; "
            "env ANTECHAMBER_TRUSTED_PROXIES, JSON list).",
        ),
    ] = None,
    min_user_limit: MinUserLimit = None,
    gateway_server: Annotated[
        str | None,
        typer.Option(
            "--gateway-server",
            help="uvicorn (default), or raw: the gateway's own HTTP/1.1 front end, faster per request "
            "(env ANTECHAMBER_GATEWAY_SERVER).",
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Where room counters live: memory (default; saved in the data directory across restarts) or a "
            "redis://, rediss://, unix:// or redis+cluster:// URL shared by every node (env ANTECHAMBER_STATE).",
        ),
    ] = None,
    state_prefix: Annotated[
        str | None,
        typer.Option("--state-prefix", help="Key prefix in Redis, to share one server (env ANTECHAMBER_STATE_PREFIX)."),
    ] = None,
    state_failure: Annotated[
        str | None,
        typer.Option(
            "--state-failure",
            help="While Redis does not answer: hold (keep the limits, default) or open (let visitors through for "
            "--state-open-seconds, then hold) (env ANTECHAMBER_STATE_FAILURE).",
        ),
    ] = None,
    state_open_seconds: Annotated[
        float | None,
        typer.Option("--state-open-seconds", min=0, max=3600, help="How long open lets visitors through (60)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="Gateway processes on the one port (env ANTECHAMBER_WORKERS; 1; "
            "more than 1 needs --state redis://...).",
        ),
    ] = None,
    geoip: Annotated[
        list[Path] | None,
        typer.Option(
            "--geoip",
            help="A MaxMind-format database (.mmdb: City, Country or ASN) for the geo fields of bypass rules "
            "(repeatable; env ANTECHAMBER_GEOIP, JSON list).",
        ),
    ] = None,
    crawler_dns: Annotated[
        str | None,
        typer.Option(
            "--crawler-dns",
            help="HOST[:PORT] of the DNS server that verifies search-engine crawlers (default: the system's; "
            "env ANTECHAMBER_CRAWLER_DNS).",
        ),
    ] = None,
    turnstile_site_key: Annotated[
        str | None,
        typer.Option(
            "--turnstile-site-key",
            help="Use Cloudflare Turnstile for the challenge instead of the self-hosted ALTCHA; needs "
            "--turnstile-secret-file (env ANTECHAMBER_TURNSTILE_SITE_KEY).",
        ),
    ] = None,
    turnstile_secret_file: Annotated[
        Path | None,
        typer.Option(
            "--turnstile-secret-file",
            help="A file holding the Turnstile secret key (kept out of the command line; "
            "env ANTECHAMBER_TURNSTILE_SECRET_FILE).",
        ),
    ] = None,
    turnstile_siteverify_url: Annotated[
        str | None,
        typer.Option(
            "--turnstile-siteverify-url", help="Where Turnstile tokens are checked (Cloudflare's by default)."
        ),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="Serve Prometheus metrics at /metrics on HOST:PORT, a listener of its own (they are also at "
            "/metrics on the API's port) (env ANTECHAMBER_METRICS).",
        ),
    ] = None,
    analytics_days: Annotated[
        int | None,
        typer.Option(
            "--analytics-days",
            min=1,
            max=3660,
            help="Days of per-minute analytics kept in the config store (30; env ANTECHAMBER_ANALYTICS_DAYS).",
        ),
    ] = None,
    log_level: LogLevel = None,
) -> None:
    """Serve the management API (Cloudflare API v4 under /client/v4) and the gateway in front of the origin."""
    if gateway_server not in (None, "uvicorn", "raw"):
        fail("--gateway-server must be uvicorn or raw")
    if state_failure not in (None, "hold", "open"):
        fail("--state-failure must be hold or open")
    mapped: dict[str, str] | None = None
    if origin_for:
        mapped = {}
        for item in origin_for:
            host, sep, url = item.partition("=")
            if not sep or not host.strip() or not url.strip():
                fail(f"--origin-for expects HOST=URL, got {item!r}")
            mapped[host.strip()] = url.strip()
    settings = load_settings(
        data_dir,
        database_url,
        api=api,
        gateway=gateway,
        origin=origin,
        origin_for=mapped,
        trusted_proxies=trusted_proxy or None,
        min_user_limit=min_user_limit,
        gateway_server=gateway_server,
        log_level=log_level,
        state=state,
        state_prefix=state_prefix,
        state_failure=state_failure,
        state_open_seconds=state_open_seconds,
        workers=workers,
        geoip=geoip or None,
        crawler_dns=crawler_dns,
        turnstile_site_key=turnstile_site_key,
        turnstile_secret_file=turnstile_secret_file,
        turnstile_siteverify_url=turnstile_siteverify_url,
        analytics_days=analytics_days,
        metrics=metrics,
    )
    if (settings.turnstile_site_key is None) != (settings.turnstile_secret_file is None):
        fail("--turnstile-site-key and --turnstile-secret-file go together")
    if settings.turnstile_secret_file is not None and not settings.turnstile_secret_file.is_file():
        fail(f"--turnstile-secret-file: {settings.turnstile_secret_file} is not a readable file")
    check_serving(settings)
    configure_logging(settings.log_level)
    if settings.workers > 1:
        share_metrics(settings)
    from antechamber.server import run

    run(settings)


def share_metrics(settings: Settings) -> None:
    """Put prometheus-client in multiprocess mode for the workers: an empty directory, named before it is imported.

    Its value class is chosen at import, and every worker must write to the same
    files for a scrape of any of them to count them all.
    """
    import os
    import shutil

    directory = settings.data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)  # a previous run's values must not count
    directory.mkdir(mode=0o700, parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def check_serving(settings: Settings) -> None:
    """Refuse malformed addresses, origins and proxy lists before anything starts."""
    from antechamber.gateway.request import TrustedProxies
    from antechamber.gateway.upstream import Origin
    from antechamber.state.factory import check_state_url, is_shared

    try:
        if not settings.api_enabled and not settings.gateway_enabled:
            raise ValueError("--api off and --gateway off leave nothing to serve")
        if settings.api_enabled:
            parse_bind(settings.api)
        if settings.gateway_enabled:
            parse_bind(settings.gateway)
        if settings.api == settings.gateway:
            raise ValueError(f"the API and the gateway cannot both listen on {settings.api}")
        if settings.metrics is not None:
            parse_bind(settings.metrics)
            if settings.metrics in (settings.api, settings.gateway):
                raise ValueError(f"--metrics needs an address of its own, not {settings.metrics}")
        check_state_url(settings.state)
        if settings.workers > 1 and not is_shared(settings.state):
            raise ValueError(
                f"--workers {settings.workers} needs state shared between processes: add --state redis://HOST:6379/0 "
                "(the in-process memory state belongs to one process)"
            )
        for url in [settings.origin, *settings.origin_for.values()]:
            if url is not None:
                Origin.parse(url)
        TrustedProxies(settings.trusted_proxies)
    except ValueError as exc:
        fail(str(exc))


@app.command()
def demo(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    api: ApiBind = None,
    gateway: GatewayBind = None,
    shop: Annotated[
        str, typer.Option("--shop", help="Where the demo shop (the origin) listens, HOST:PORT.")
    ] = "127.0.0.1:8001",
    min_user_limit: MinUserLimit = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "warning",
) -> None:
    """Try Antechamber: the API, the gateway, a demo shop and a tiny demo room, in one process."""
    from antechamber.demo.run import run_demo
    from antechamber.demo.setup import DEMO_MIN_USERS
    from antechamber.server import BindError, run_loop

    settings = load_settings(
        data_dir,
        database_url,
        api=api,
        gateway=gateway,
        origin=f"http://{shop}",
        min_user_limit=DEMO_MIN_USERS if min_user_limit is None else min_user_limit,
        log_level=log_level,
    )
    check_serving(settings)
    try:
        parse_bind(shop)
    except ValueError as exc:
        fail(str(exc))
    configure_logging(settings.log_level)

    def show(line: str) -> None:
        typer.echo(line)  # the console only: the token in the banner must never reach the log

    try:
        run_loop(run_demo(settings, shop, show))
    except BindError as exc:
        fail(f"{exc} (choose other ports with --api, --gateway and --shop)")


@app.command()
def surge(
    url: Annotated[str, typer.Option("--url", help="The waiting room to fill (loopback only).")] = (
        "http://localhost:8000/"
    ),
    visitors: Annotated[
        int, typer.Option("--visitors", min=1, help=f"How many visitors arrive in all (max {MAX_VISITORS}).")
    ] = 50,
    rate: Annotated[float, typer.Option("--rate", min=0.01, help=f"Arrivals per second (max {MAX_RATE:g}).")] = 5.0,
    duration: Annotated[
        float, typer.Option("--duration", min=1, help=f"Seconds until everyone stops (max {MAX_DURATION:g}).")
    ] = 120,
    pages: Annotated[int, typer.Option("--pages", min=1, max=20, help="Pages an admitted visitor browses.")] = 3,
) -> None:
    """Send a crowd of simulated visitors at a local waiting room and print the queue each second."""
    from antechamber.surge import SurgeError, SurgePlan, run_surge

    try:
        plan = SurgePlan.checked(url=url, visitors=visitors, rate=rate, duration=duration, pages=pages)
    except SurgeError as exc:
        fail(str(exc))
        return
    try:
        asyncio.run(run_surge(plan, typer.echo))
    except SurgeError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


app.command(help="Replay a surge against the real admission core on a virtual clock; report and plot it.")(simulate)


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the store's schema up to date (every other command does this too)."""

    async def nothing(_database: Database) -> None:
        return None

    with_store(load_settings(data_dir, database_url), nothing)
    typer.echo("the store is up to date")


@zones_app.command("create")
def zones_create(
    name: Annotated[str, typer.Argument(help="The domain, e.g. example.com.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Register a domain as a zone and print its id."""

    async def create(database: Database) -> accounts.Zone:
        async with database.begin() as connection:
            return await accounts.create_zone(connection, name)

    try:
        zone = with_store(load_settings(data_dir, database_url), create)
    except accounts.ZoneError as exc:
        fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps({"id": zone.id, "name": zone.name, "account_id": zone.account_id}))
    else:
        typer.echo(zone.id)


@zones_app.command("list")
def zones_list(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """List the registered zones."""

    async def read(database: Database) -> list[accounts.Zone]:
        async with database.connect() as connection:
            return await accounts.list_zones(connection)

    found = with_store(load_settings(data_dir, database_url), read)
    if as_json:
        typer.echo(json.dumps([{"id": z.id, "name": z.name, "account_id": z.account_id} for z in found]))
    else:
        for zone in found:
            typer.echo(f"{zone.id}  {zone.name}")


@tokens_app.command("create")
def tokens_create(
    scope: Annotated[str, typer.Option("--scope", help="read (GET only) or write (everything).")] = "write",
    zone: Annotated[
        list[str] | None, typer.Option("--zone", help="Limit the token to this zone id (repeatable).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label for the token.")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    if scope not in tokens.SCOPES:
        fail(f"--scope must be one of {', '.join(tokens.SCOPES)}")

    async def create(database: Database) -> tuple[str, tokens.ApiToken]:
        async with database.begin() as connection:
            for zone_id in zone or []:
                if await accounts.zone_by_id(connection, zone_id) is None:
                    raise accounts.ZoneError(f"no zone with id {zone_id!r}")
            return await tokens.create_token(connection, scope, list(zone) if zone else None, name)  # type: ignore[arg-type]

    try:
        secret, token = with_store(load_settings(data_dir, database_url), create)
    except accounts.ZoneError as exc:
        fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps({"token": secret, "id": token.id, "scope": token.scope, "zones": token.zone_ids}))
    else:
        typer.echo(secret)


@tokens_app.command("list")
def tokens_list(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """List tokens (ids and scopes; the tokens themselves are not stored)."""

    async def read(database: Database) -> list[tokens.ApiToken]:
        async with database.connect() as connection:
            return await tokens.list_tokens(connection)

    found = with_store(load_settings(data_dir, database_url), read)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "scope": t.scope,
            "zones": t.zone_ids,
            "created_on": t.created_on,
            "revoked_on": t.revoked_on,
        }
        for t in found
    ]
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            state = "revoked" if row["revoked_on"] else "active"
            zones = ",".join(row["zones"] or ["*"])
            typer.echo(f"{row['id']}  {row['scope']:5}  {state:7}  zones={zones}  {row['name']}")


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `tokens list`).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token: requests that use it get 401 from now on."""

    async def revoke(database: Database) -> bool:
        async with database.begin() as connection:
            return await tokens.revoke_token(connection, token_id)

    if not with_store(load_settings(data_dir, database_url), revoke):
        fail(f"no active token with id {token_id!r}")
    typer.echo(f"revoked {token_id}")


@dashboard_app.command("password")
def dashboard_password(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input (scripts).")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the password: only API tokens sign in.")] = False,
) -> None:
    """Set the operator password of the dashboard (asked twice, never echoed); ends every operator sign-in."""
    from antechamber.db import dashboard

    password: str | None = None
    if not clear:
        if stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Operator password", hide_input=True, confirmation_prompt=True)
        if len(password) < dashboard.MIN_PASSWORD_LENGTH:
            fail(f"the password must be at least {dashboard.MIN_PASSWORD_LENGTH} characters long")

    async def store(database: Database) -> None:
        async with database.begin() as connection:
            await dashboard.set_operator_password(connection, password)

    with_store(load_settings(data_dir, database_url), store)
    typer.echo("operator password cleared" if clear else "operator password set (stored as a scrypt hash)")


def key_store(data_dir: Path | None, work: Callable[[Path], T]) -> T:
    """Run ``work`` on the data directory's key file; a missing, unreadable or malformed file exits 1.

    The messages name the file, never its contents.
    """
    directory = load_settings(data_dir, None).data_dir
    path = keystore.keys_path(directory)
    try:
        return work(directory)
    except FileNotFoundError:
        message = f"no cookie key file at {path} (`antechamber serve` makes one on first start)"
    except keystore.KeyStoreError as exc:
        message = f"{exc} ({path})"
    except OSError as exc:
        message = f"cannot use {path}: {exc.strerror or type(exc).__name__}"
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List the cookie keys: id, state (current, staged or kept) and creation time; never the keys themselves."""
    rows = [
        {"id": info.key_id, "state": info.state, "created": info.created}
        for info in key_store(data_dir, keystore.read_key_file).describe()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo(f"{row['id']:>3}  {row['state']:7}  {row['created'] or 'unknown'}")


@keys_app.command("stage")
def keys_stage(data_dir: DataDir = None) -> None:
    """Add a key every node opens cookies with but none seals with yet; print its id.

    Copy the key file to every node (nothing to do on a shared data directory), wait 2 s, then `keys use ID`.
    """
    key_id = key_store(data_dir, keystore.stage_key)
    typer.echo(key_id)
    typer.echo(
        f"staged key {key_id}: copy the key file to every node, wait 2 s, then run `antechamber keys use {key_id}`",
        err=True,
    )


@keys_app.command("use")
def keys_use(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys stage` or `keys list`).")],
    data_dir: DataDir = None,
) -> None:
    """Seal cookies with a staged (or kept) key from now on; the key that was current still opens them."""
    if not key_id.isdigit():
        typer.echo(f"error: no cookie key with id {key_id!r} (see `antechamber keys list`)", err=True)
        raise typer.Exit(1)
    ring = key_store(data_dir, lambda directory: keystore.use_key(directory, int(key_id)))
    typer.echo(f"sealing with key {ring.current_id}")


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDir = None) -> None:
    """Make a new key current at once; print its id.

    For a single node: with several nodes, `keys stage` first, so every node can open the new key's cookies before
    any node seals with it.
    """
    ring = key_store(data_dir, keystore.rotate_keys)
    typer.echo(ring.current_id)


# --- antechamber crawlers: the verified search-engine crawlers' IP ranges -------------------------------------


@crawlers_app.command("show")
def crawlers_show(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Each known crawler's published ranges in force: how many, when taken, and whether the data directory's."""
    from antechamber.crawlers import KNOWN_CRAWLERS
    from antechamber.crawlers.ranges_file import RangesFileError, read_sources

    try:
        sources, overridden = read_sources(load_settings(data_dir, None).data_dir)
    except RangesFileError as exc:
        fail(str(exc))
    rows: list[dict[str, Any]] = []
    for crawler in KNOWN_CRAWLERS:
        entry = sources.get(crawler.name)
        networks = entry.networks() if entry else []
        rows.append(
            {
                "crawler": crawler.name,
                "label": crawler.label,
                "ipv4": sum(net.version == 4 for net in networks),
                "ipv6": sum(net.version == 6 for net in networks),
                "taken": entry.taken if entry else None,
                "source": entry.source if entry else None,
                "via": entry.via if entry else None,
                "origin": None if entry is None else "data-dir" if crawler.name in overridden else "shipped",
                "domains": list(crawler.domains),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        if row["origin"] is None:
            typer.echo(f"{row['crawler']:15} no published ranges: reverse DNS only ({', '.join(row['domains'])})")
        else:
            count = f"{row['ipv4'] + row['ipv6']} ranges ({row['ipv4']} IPv4, {row['ipv6']} IPv6)"
            typer.echo(f"{row['crawler']:15} {count:34} taken {row['taken']}  {row['origin']}  {row['source']}")


@crawlers_app.command("update")
def crawlers_update(
    file: Annotated[Path, typer.Argument(help="A ranges file, or one engine's published file (e.g. googlebot.json).")],
    crawler: Annotated[
        str | None, typer.Option("--crawler", help="Which crawler an engine's file is for (googlebot, bingbot, ...).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="The URL the engine publishes it at (default: the shipped one).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Replace crawlers' ranges with those in FILE, in the data directory (restart the gateway to use them).

    The other crawlers keep their ranges. See `antechamber crawlers show` for the names.
    """
    from antechamber.crawlers.ranges_file import RangesFileError, override_path, update_override

    settings = load_settings(data_dir, None)
    settings.prepare_data_dir()
    try:
        entries = update_override(settings.data_dir, file, crawler=crawler, source=source)
    except RangesFileError as exc:
        fail(str(exc))
    for name, entry in entries.items():
        typer.echo(f"{name}: {len(entry.prefixes)} ranges taken {entry.taken}")
    typer.echo(f"wrote {override_path(settings.data_dir)}", err=True)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
