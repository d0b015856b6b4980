"""Settings per environment, cookiecutter-django style: base plus local, test and production."""
