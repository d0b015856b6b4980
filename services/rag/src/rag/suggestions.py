"""What to suggest to a customer: a search query built from their plan and billing state."""

PAST_DUE_QUERY = "payment failed invoice card declined"
TRIALING_QUERY = "trial upgrade plan"


def suggestion_query(plan: str, subscription_status: str) -> str:
    """Build the search query for a customer's situation."""
    if subscription_status == "past_due":
        return PAST_DUE_QUERY
    if subscription_status == "trialing":
        return TRIALING_QUERY
    return f"{plan} plan getting started".strip()
