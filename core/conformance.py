"""The plugin conformance kit (a pytest plugin, loaded through the ``pytest11`` entry point).

Importing it must stay cheap: nothing is built until a fixture asks for it.
"""
