"""PII redaction (pure: no database, no web): detectors, typed placeholders and an offset map back."""
