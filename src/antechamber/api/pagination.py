"""``page``/``per_page`` query parameters and the ``result_info`` they produce."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from antechamber.api.envelope import ResultInfo


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list was asked for."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page

    def info(self, count: int, total_count: int) -> ResultInfo:
        """``result_info`` for a page holding ``count`` of ``total_count`` items."""
        return ResultInfo(
            page=self.page,
            per_page=self.per_page,
            count=count,
            total_count=total_count,
            total_pages=max(1, math.ceil(total_count / self.per_page)),
        )


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[
        int, Query(ge=5, le=1000, multiple_of=5, description="Results per page: a multiple of 5 from 5 to 1000.")
    ] = 25,
) -> Page:
    """Read and check the pagination parameters (Cloudflare's limits)."""
    return Page(page=page, per_page=per_page)


PageParams = Annotated[Page, Depends(page_params)]
