"""Pure rules with no database session: code formats, check digits, geometry, labels."""
