"""Orders: carts, checkout and the order lifecycle (to come)."""
