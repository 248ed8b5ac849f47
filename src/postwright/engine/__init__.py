"""The delivery engine: dispatcher, workers, leases, retries, rate limits and periodic jobs."""
