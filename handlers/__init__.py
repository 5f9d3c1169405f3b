"""What service tasks call (STYLE.md §2): one registry, one module per concern. No Flask here."""
