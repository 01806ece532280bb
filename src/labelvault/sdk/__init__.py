"""Python SDK: a thin HTTP client for the labelvault REST API."""

from labelvault.sdk.client import ApiError, Client

__all__ = ["ApiError", "Client"]
