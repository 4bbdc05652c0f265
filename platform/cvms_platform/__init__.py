"""What every CVMS service uses the same way.

Event envelope and contracts, transactional outbox and its relay, idempotent inbox with
dead-lettering, database sessions, configuration and metrics.
"""
