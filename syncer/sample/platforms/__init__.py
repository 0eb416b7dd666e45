"""The sample shop written in other platforms' shapes (exports, schemas), for tests and trials."""
