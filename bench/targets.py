"""The performance targets the bench reports against, in one place (each measuring module and
the report read them here, so none of them imports another to learn a number)."""

INSIGHTS = 3.0  # segment insights ÷ counting the segment (50,000 of 1,000,000 customers)
LIVE_COUNT = 1.5  # the web admin's live count ÷ `syncer segments count` (100,000 customers)
