"""VetrAI Platform: a self-hosted, multi-tenant AI workflow server built from plugins."""

__version__ = "0.1.0"
