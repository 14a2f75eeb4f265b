"""The pure decision core: no I/O, no event loop, injected clock and randomness."""
