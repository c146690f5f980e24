"""A sweep's durable record: the SQLite store, its schema and its migrations."""
