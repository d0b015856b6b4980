"""Django's hello-world as ``django-admin startproject`` sets it up: its apps and middleware.

The same view as :mod:`strangler_bench.apps.hello_django`, behind the seven middleware (security,
sessions, common, CSRF, authentication, messages, clickjacking) every new Django project starts
with and most monoliths keep. Next to the bare app it separates what Django's defaults cost
from what a service adds on top of them. No request reaches the database.
"""

import ast
from pathlib import Path

import django

from strangler_bench.apps._django_hello import application_with

# The settings file startproject renders, from the installed Django: its lists are plain Python
# (the template's tags sit only in strings and comments).
_TEMPLATE = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"


def startproject_setting(name: str) -> list[str]:
    """Return the list setting ``name`` as the installed Django's startproject writes it."""
    for node in ast.parse(_TEMPLATE.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise LookupError(f"{name} is not in {_TEMPLATE}")


application = application_with(
    startproject_setting("MIDDLEWARE"),
    startproject_setting("INSTALLED_APPS"),
    {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
