"""Articles of the knowledge base and the tombstones of deleted ones."""

from django.db import models
from django.utils import timezone


class Article(models.Model):
    """A help-centre article."""

    slug = models.SlugField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    body = models.TextField()
    tags = models.JSONField(
        default=list, blank=True, help_text='A JSON list of strings: ["a", "b"].'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["updated_at", "id"], name="knowledge_article_change_idx")]

    def __str__(self) -> str:
        return self.title


class ArticleTombstone(models.Model):
    """The record that an article existed and was deleted, for the change feed."""

    article_id = models.BigIntegerField(unique=True)
    slug = models.SlugField(max_length=200)
    deleted_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-deleted_at"]
        indexes = [
            models.Index(fields=["deleted_at", "article_id"], name="knowledge_tombstone_change_idx")
        ]

    def __str__(self) -> str:
        return f"{self.slug} (deleted)"
