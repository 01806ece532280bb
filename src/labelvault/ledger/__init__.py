"""The access ledger: append-only, hash-chained, checkpointed by signed Merkle roots."""
