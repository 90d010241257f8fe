"""Training callbacks: schedules installed in-graph, monitors, early stopping."""
