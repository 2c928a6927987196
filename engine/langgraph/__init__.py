"""The LangGraph Server API (``/api/v1/langgraph``) on the engine's run model."""
