"""The FastAPI retrieval service that takes search and chat over from the monolith."""
