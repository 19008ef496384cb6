"""One screen per step, imported only when the admin reaches it.

:func:`screen_class` maps a step id to its screen class; the modules are
imported on first use, so the first screen paints without loading the others
(or the heavy libraries their checks need).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.tui.screens.base import StepScreen

__all__ = ["SCREENS", "screen_class"]

SCREENS: dict[str, tuple[str, str]] = {
    "welcome": ("wizard.tui.screens.welcome", "WelcomeScreen"),
    "hostname": ("wizard.tui.screens.hostname", "HostnameScreen"),
    "public_ip": ("wizard.tui.screens.public_ip", "PublicIpScreen"),
    "certificate": ("wizard.tui.screens.certificate", "CertificateScreen"),
    "upstream": ("wizard.tui.screens.upstream", "UpstreamScreen"),
    "provider_app": ("wizard.tui.screens.provider_app", "ProviderAppScreen"),
    "credentials": ("wizard.tui.screens.credentials", "CredentialsScreen"),
    "review": ("wizard.tui.screens.review", "ReviewScreen"),
    "install": ("wizard.tui.screens.install", "InstallScreen"),
    "test": ("wizard.tui.screens.test", "ProxyTestScreen"),
    "done": ("wizard.tui.screens.done", "DoneScreen"),
}


def screen_class(step: str) -> type[StepScreen]:
    """The screen class of ``step``.

    Raises:
        KeyError: For an unknown step id.
    """
    module_name, class_name = SCREENS[step]
    cls: type[StepScreen] = getattr(importlib.import_module(module_name), class_name)
    return cls
