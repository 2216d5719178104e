"""Inbound: webhook → wire format (verify, decrypt, parse) → pipeline (dedupe, lock, dialog) → router → reply."""
