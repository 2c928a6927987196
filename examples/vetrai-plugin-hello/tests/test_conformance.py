"""The VetrAI plugin conformance kit, run on this plugin: one class, every check."""

from __future__ import annotations

from vetrai.core.conformance import PluginConformance, Resource


class TestHelloConformance(PluginConformance):
    plugin = "hello"
    resource_list = [
        Resource.by_post(
            "/api/v1/hello/greetings",
            "/api/v1/hello/greetings/<greeting_id>",
            {"message": "hi"},
            body={"message": "changed"},
        ),
    ]
