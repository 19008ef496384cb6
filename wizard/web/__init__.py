"""``codestream-bastion demo --web``: the guided demo in a browser, on loopback.

:mod:`~wizard.web.access` decides who may reach it (loopback unless
``--public``), :mod:`~wizard.web.sessions` gives each browser tab a demo of its
own and ends it with everything it started, and :mod:`~wizard.web.server`
connects them to the browser through textual-serve (the optional ``web``
extra), with a page that loads nothing from another host.
"""
