"""Reports: how fast the team answers, what the AI handles, what Instagram's window costs."""
