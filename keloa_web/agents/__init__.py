"""AI agents: admin pages, knowledge retrieval, model backends and the ai job."""
