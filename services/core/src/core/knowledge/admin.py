"""Admin screens for articles and their tombstones."""

from django.contrib import admin
from django.http import HttpRequest

from core.knowledge.models import Article, ArticleTombstone


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Articles, searchable by slug, title and body."""

    list_display = ("id", "slug", "title", "tags", "updated_at")
    search_fields = ("slug", "title", "body")
    list_filter = ("updated_at",)
    date_hierarchy = "updated_at"
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("created_at", "updated_at")


@admin.register(ArticleTombstone)
class ArticleTombstoneAdmin(admin.ModelAdmin):
    """Deleted articles, read-only: the change feed depends on them."""

    list_display = ("article_id", "slug", "deleted_at")
    search_fields = ("slug",)
    list_filter = ("deleted_at",)
    readonly_fields = ("article_id", "slug", "deleted_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse hand-made tombstones: they are written when an article is deleted."""
        return False
