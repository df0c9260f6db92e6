"""Per-form content builders: each module exposes ``build_story(context)``."""
