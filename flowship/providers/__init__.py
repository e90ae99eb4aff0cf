"""Talking to the outside world: byte storage (``storage/``), and one deployer per target.

``flowship.providers.<target>`` holds the :class:`~flowship.providers.deployer.Deployer`
of the target of that name: it checks compiled documents with the real
scheduler where it can, plans and applies them, deletes them, and triggers runs.
"""
