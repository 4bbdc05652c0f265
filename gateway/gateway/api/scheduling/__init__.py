"""Scheduling: the public locator and self-scheduling, and the clinic's side of it."""
