"""Identity: sign-in, passwords, users and partner API keys."""
