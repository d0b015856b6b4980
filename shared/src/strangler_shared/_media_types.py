"""Which request bodies the project's JSON APIs read, so every service answers the same 415."""


def is_json_media_type(content_type: str) -> bool:
    """Tell whether a Content-Type names JSON (application/json or any application/*+json)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
