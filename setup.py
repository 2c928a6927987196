"""Maps the top-level folders onto the one import package ``vetrai`` (docs/architecture.md, Layout)."""

from setuptools import find_packages, setup

TOP_LEVEL = ["core", "plugins", "engine", "entrypoints"]
packages = ["vetrai"] + [f"vetrai.{name}" for name in find_packages(include=[f"{top}*" for top in TOP_LEVEL])]

setup(packages=packages)
