"""The fault flags, one row shared by every worker."""

from django.db import models


class FaultFlags(models.Model):
    """The monolith's fault flags (a single row, primary key 1)."""

    noise_field = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="A field /api/ answers gain, with a new value each time.",
    )

    class Meta:
        verbose_name = "fault flags"
        verbose_name_plural = "fault flags"

    def __str__(self) -> str:
        return f"noise field '{self.noise_field}'" if self.noise_field else "no faults"
