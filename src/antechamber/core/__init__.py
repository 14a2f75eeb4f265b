"""The pure decision core: no I/O, no event loop, injected clock and randomness.

- :mod:`.types`: ``RoomConfig``, ``EventWindow``, ``Outcome``, ``RequestFacts``, ``Random``, constants.
- :mod:`.config`: ``RoomSettings``, ``EventSettings``, ``effective_config``, ``next_change_ms``.
- :mod:`.ticket`: ``Ticket``, the cookie's plaintext.
- :mod:`.counters`: ``RoomSnapshot``, ``Deltas``, ``merge_deltas``, ``QueueView``.
- :mod:`.decide`: ``decide``, ``Decision``.
- :mod:`.budget`: ``free_slots``, ``minute_cap``, ``seconds_to_turn``, ``fifo_refresh_s``: how many new users
  may go in now, and when a FIFO user's turn comes.
- :mod:`.info`: ``QueueInfo`` (the ``cfWaitingRoom`` fields) and ``build_info``.
- :mod:`.estimate`: outflow, FIFO and random wait estimates, English wording.
- :mod:`.cookie`: ``CookieCodec``, ``KeyRing``, ``cookie_name``.
"""
