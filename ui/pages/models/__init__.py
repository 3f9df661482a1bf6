"""The Models page: the model library (every model trained or opened), and what to do with each."""
