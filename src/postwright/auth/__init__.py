"""Identity: passwords, API tokens, access/refresh tokens, sessions, secret encryption."""
