"""Prometheus metrics (one process-wide registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("labelvault_http_requests_total", "HTTP requests by route and status.",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("labelvault_http_request_seconds", "HTTP request latency by route.", ["method", "route"],
                    registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
IMPORTED_ITEMS = Counter("labelvault_imported_items_total", "Items written by imports.", registry=REGISTRY)
IMPORT_REJECTED = Counter("labelvault_import_rejected_lines_total", "Import lines rejected.", registry=REGISTRY)
EXPORTED_ITEMS = Counter("labelvault_exported_items_total", "Items streamed by exports.", registry=REGISTRY)
EXPORTED_ANNOTATIONS = Counter("labelvault_exported_annotations_total", "Annotations streamed by exports.",
                               registry=REGISTRY)
