"""Retrieval over the knowledge base that rag copies from core."""
