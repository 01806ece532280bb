"""Converters between labelvault's export records and the formats other tools read and write.

Pure code: no database, no web. A record is one exported item as the native JSONL export writes it
(`id`, `external_id`, `data`, `metadata`, `state`, `annotations`, and `predictions` when asked for).
"""
