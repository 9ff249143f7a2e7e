"""Stateful HTTP sandboxes of the vendors (Salesforce, Zuora, Stripe), faithful to shared VENDORS.md."""
