"""Web: base templates, static assets, portal navigation, home."""
