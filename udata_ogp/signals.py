"""Receivers of udata signals (filled by the link-health issue)."""
