"""Admin page for webhook events that could not be applied."""
