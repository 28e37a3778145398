"""The inbox area: list, thread, composer and the live change poll."""
