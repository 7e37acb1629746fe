"""Cross-camera identities: online matcher, site constraints, offline clustering, store, search, MTMC evaluation."""
