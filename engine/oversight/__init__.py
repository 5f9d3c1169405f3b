"""Oversight (§8.6, §9): indicators (`indicators`), the assessment score (`assessment`), the 通报
(`circular`), the monthly report (`monthly_report`), spot checks (`spot_checks`, §9.3) and hazard points
(`hazards`, §9.2)."""
