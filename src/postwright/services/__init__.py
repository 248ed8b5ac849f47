"""Use cases shared by the API, the CLI and the web app. Each takes a Runtime and a Principal."""
