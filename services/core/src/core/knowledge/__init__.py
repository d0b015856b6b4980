"""The knowledge base: help-centre articles, searched by the legacy API and synced to rag.

Deletions are tracked with tombstones: a ``post_delete`` signal writes an ``ArticleTombstone`` row
(the article's id, slug and deletion time) for every deleted article, including bulk queryset
deletes, which Django also signals per object. ``CoreService.ListArticles`` merges articles and
tombstones into one change feed ordered by (updated_at, id), so a copy of the knowledge base (rag's
index) can drop deleted articles on its next incremental sync. Tombstones are kept: they are tiny,
and a copy that has been offline for a long time must still learn about every deletion.
"""
