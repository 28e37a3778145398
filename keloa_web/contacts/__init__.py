"""The contact panel beside a thread, and the custom fields admins define for it."""
