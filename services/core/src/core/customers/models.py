"""The customer record; billing state lives beside it in the billing app."""

from enum import StrEnum

from django.db import models

from core.choices import choices_of


class Plan(StrEnum):
    """The product plans a customer can be on."""

    FREE = "free"
    TEAM = "team"
    BUSINESS = "business"


class Customer(models.Model):
    """A customer account of the product."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    plan = models.CharField(max_length=20, choices=choices_of(Plan), default=Plan.FREE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
