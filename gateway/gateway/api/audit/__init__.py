"""The audit log, searchable by state admins."""
