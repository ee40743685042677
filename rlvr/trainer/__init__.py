"""The RLVR trainer: one step = generate -> verify -> advantages -> learn -> sync -> log."""
