"""Services: the only code that writes models. Each multi-row write is one transaction."""
