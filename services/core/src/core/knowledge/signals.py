"""Write a tombstone for each deleted article, and drop it if that id comes back."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from core.knowledge.models import Article, ArticleTombstone


@receiver(post_delete, sender=Article, dispatch_uid="knowledge.article_tombstone")
def record_deletion(sender: type[Article], instance: Article, **kwargs: Any) -> None:
    """Record that the article was deleted, so the change feed can announce it."""
    ArticleTombstone.objects.update_or_create(
        article_id=instance.pk, defaults={"slug": instance.slug, "deleted_at": timezone.now()}
    )


@receiver(post_save, sender=Article, dispatch_uid="knowledge.article_resurrection")
def forget_deletion(sender: type[Article], instance: Article, created: bool, **kwargs: Any) -> None:
    """Remove the tombstone of an id that was saved again (restored from a fixture or backup)."""
    if created:
        ArticleTombstone.objects.filter(article_id=instance.pk).delete()
