"""Command groups under `flask --app portal`, one module per area (each defines a click group `group`)."""
