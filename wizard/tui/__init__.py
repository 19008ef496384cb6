"""The Textual wizard: one screen per step, a sidebar of steps, one stylesheet.

Start at :mod:`wizard.tui.app` (:func:`~wizard.tui.app.run_app`, given a
:class:`~wizard.tui.session.WizardSession` by :mod:`wizard.commands`). This
face imports nothing, so that importing a plain-data module such as
:mod:`wizard.tui.session` does not load Textual.
"""

from __future__ import annotations

__all__ = ["app", "outputs", "paste", "session", "state", "steps"]
