"""Attach the dashboard to the API app: its routes, its static files, its sign-in limiter."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from antechamber.dashboard.in_process import InProcessApi
from antechamber.dashboard.routes import PREFIX, Answered, answered, router
from antechamber.dashboard.signin_limit import SignInLimiter

STATIC = Path(__file__).parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/dashboard`` on this API app (which it calls in-process)."""
    app.state.dashboard_api = InProcessApi(app)
    app.state.dashboard_limiter = SignInLimiter()
    app.include_router(router)
    app.add_exception_handler(Answered, answered)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="dashboard-static")
