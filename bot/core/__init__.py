"""The platform's core: typed config, errors, services, database, logs and masking, metrics, followers."""
