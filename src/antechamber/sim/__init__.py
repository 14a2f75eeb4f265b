"""The surge simulator: drives the real decision core with a virtual clock and a simulated crowd."""
