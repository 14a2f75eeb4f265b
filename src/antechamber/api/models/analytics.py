"""The analytics endpoint's shapes (Antechamber's own: Cloudflare serves these figures through GraphQL)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AnalyticsMinute(BaseModel):
    """One minute of a room, over every gateway process and node."""

    minute: datetime = Field(description="The minute's start (UTC).")
    active_users_max: int = Field(description="The most users on the site, sampled every 5 seconds.")
    active_users_limit: int = Field(description="total_active_users in force (an event's, during it).")
    queued_users_max: int = Field(description="The most users waiting, sampled every 5 seconds.")
    new_users: int = Field(description="New users let in.")
    new_users_limit: int = Field(description="new_users_per_minute in force.")
    wait_p50_seconds: float | None = Field(description="Median wait of the users let in (null: nobody let in).")
    wait_p90_seconds: float | None
    wait_p99_seconds: float | None
    rejected_requests: int = Field(description="Requests answered with the reject page.")
    bypassed_requests: int = Field(description="Requests let through by a bypass rule or as a verified crawler.")
    sessions_revoked: int
    challenges_issued: int
    challenges_passed: int
    challenges_failed: int
    session_renewals: int = Field(
        description="Sessions renewed (each renewal adds the time since the last to time on origin)."
    )
    time_on_origin_seconds: float = Field(
        description="Time on origin the minute's renewals added up (admission to each session's last renewal)."
    )
    longest_time_on_origin_seconds: float | None = Field(
        description="The oldest session renewed in the minute (null: no renewal)."
    )


class AnalyticsSummary(BaseModel):
    """A range (or an event) in brief."""

    since: datetime
    until: datetime
    minutes_with_data: int
    new_users: int
    rejected_requests: int
    bypassed_requests: int
    sessions_revoked: int
    peak_active_users: int
    peak_queued_users: int
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    wait_p99_seconds: float | None
    longest_wait_seconds: float | None = Field(description="The longest wait of a user let in (within 4.5 %).")
    session_renewals: int
    time_on_origin_seconds: float = Field(description="Time on origin of every session, added up.")
    time_on_origin_avg_seconds: float | None = Field(
        description="Mean time on origin per user let in (low by under one renewal step, 5 s)."
    )
    longest_time_on_origin_seconds: float | None


class RoomAnalytics(BaseModel):
    """A room's minutes in a range, and their summary."""

    waiting_room_id: str
    summary: AnalyticsSummary
    minutes: list[AnalyticsMinute]
