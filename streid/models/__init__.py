"""Model weights from named places: public models (pulled on request), files the user imports, a local cache."""
