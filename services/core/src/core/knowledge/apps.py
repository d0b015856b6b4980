"""App configuration of the knowledge app."""

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """The knowledge base: articles and their deletion tombstones."""

    name = "core.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        """Connect the signal handlers that record deletions."""
        from core.knowledge import signals  # noqa: F401
