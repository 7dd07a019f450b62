"""The analyses the rules and the inventory share, each built once per project.

``archlint.project.Project`` owns them (``project.routes``, ``project.types``,
``project.apps``, ``project.orm``, ``project.pydantic``, ``project.requests``,
``project.origins``); each module here asks the index (``archlint.index``) and
never the rules, the engine or the configuration.
"""
