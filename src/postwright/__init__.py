"""postwright: a self-hosted social media scheduler that publishes each post exactly once."""

__version__ = "0.1.0"
