"""UI-free live validation, one module per requirement.

Each module exposes functions that take their dependencies (resolvers, trust
store, timeouts, transport) through a :class:`~wizard.checks.context.CheckContext`
and return :class:`~wizard.findings.Finding` lists.
"""
